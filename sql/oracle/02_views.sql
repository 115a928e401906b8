-- Outbox for Oracle, part 2: views for DBAs (the same views exist in PostgreSQL and SQLite).
--
-- Run after 01_tables.sql, as the owner. Safe to run again (CREATE OR REPLACE).
--
--   select * from outbox_queue_summary;   -- how many mails in each status, and the oldest
--   select * from outbox_failed;          -- mails that will not go out, with the last error

set define off
whenever sqlerror exit failure rollback

-- oldest_age_seconds: how long the oldest mail of the status has waited since it was queued
-- (since it was created, for drafts). A growing figure for 'queued' means no worker is sending.
create or replace view outbox_queue_summary as
select status,
       count(*) as messages,
       min(coalesce(queued_at, created_at)) as oldest_at,
       round((cast(sys_extract_utc(systimestamp) as date) - cast(min(coalesce(queued_at, created_at)) as date)) * 86400) as oldest_age_seconds
  from outbox_message
 group by status
/

-- Mails that ended without being sent, or whose sending is unconfirmed, newest first.
-- Retry one with `outbox retry ID`, or: update outbox_message set status = 'queued',
-- due_at = sys_extract_utc(systimestamp), attempt_count = 0 where id = ...; commit;
-- subject: what a template mail went out with (rendered_subject), once the worker rendered it.
create or replace view outbox_failed as
select m.id, m.status, m.sender, coalesce(m.rendered_subject, m.subject) as subject, m.attempt_count, m.last_attempt_at, m.smtp_code, m.smtp_reply, m.last_error
  from outbox_message m
 where m.status in ('failed', 'unconfirmed', 'expired')
/
