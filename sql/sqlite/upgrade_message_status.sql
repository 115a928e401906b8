-- Outbox for SQLite: outbox_message with the status check of schema version 6, which allows
-- 'expired' (a mail whose expires_at passed before a worker began to send it).
--
-- `outbox` runs this once, in one transaction with foreign keys off, on a file made before
-- version 6 (whose check lacks 'expired'): SQLite cannot change a check in place, so the table
-- is made again with its rows and ids. The tables that reference it keep referring to it by
-- name; the views and indexes on it are made again. By hand:
--   sqlite3 outbox.db "pragma foreign_keys = off; begin; $(cat sql/sqlite/upgrade_message_status.sql) commit;"

drop view if exists outbox_queue_summary;

drop view if exists outbox_failed;

create table outbox_message_v6 (
    id               integer primary key,
    status           text    not null default 'draft'
        check (status in ('draft', 'queued', 'sending', 'sent', 'unconfirmed', 'failed', 'cancelled', 'expired')),
    kind             text    not null default 'mime' check (kind in ('mime', 'raw')),
    sender           text    not null,
    reply_to         text,
    subject          text,
    text_body        text,
    html_body        text,
    priority         integer not null default 3 check (priority between 1 and 5),
    idempotency_key  text    unique,
    mime_message_id  text    not null,
    profile          text,
    created_at       text    not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    send_after       text,
    queued_at        text,
    due_at           text,
    lease_owner      text,
    taken_over_from  text,
    data_started_at  text,
    attempt_count    integer not null default 0,
    last_attempt_at  text,
    sent_at          text,
    smtp_code        integer,
    smtp_reply       text,
    last_error       text,
    template         text,
    template_locale  text,
    template_data    text,
    rendered_subject text,
    expires_at       text,
    headers          text
);

insert into outbox_message_v6
select id, status, kind, sender, reply_to, subject, text_body, html_body, priority, idempotency_key, mime_message_id, profile,
       created_at, send_after, queued_at, due_at, lease_owner, taken_over_from, data_started_at, attempt_count, last_attempt_at,
       sent_at, smtp_code, smtp_reply, last_error, template, template_locale, template_data, rendered_subject, expires_at, headers
  from outbox_message;

drop table outbox_message;

alter table outbox_message_v6 rename to outbox_message;

create index outbox_message_due_ix on outbox_message (due_at) where status in ('queued', 'sending');

create index outbox_message_priority_ix on outbox_message (priority, due_at) where status in ('queued', 'sending');

create index outbox_message_status_ix on outbox_message (status, created_at);

create view outbox_queue_summary as
select status,
       count(*) as messages,
       min(coalesce(queued_at, created_at)) as oldest_at,
       cast(round((julianday('now') - julianday(min(coalesce(queued_at, created_at)))) * 86400) as integer) as oldest_age_seconds
  from outbox_message
 group by status;

create view outbox_failed as
select m.id, m.status, m.sender, coalesce(m.rendered_subject, m.subject) as subject, m.attempt_count, m.last_attempt_at, m.smtp_code, m.smtp_reply, m.last_error
  from outbox_message m
 where m.status in ('failed', 'unconfirmed', 'expired');
