-- Outbox for SQLite: the view outbox_failed of schema version 7, whose subject is what a
-- template mail went out with (rendered_subject) rather than its template's Liquid text.
--
-- `outbox` runs this once, in one transaction, on a file whose view lacks rendered_subject:
-- SQLite cannot replace a view in place. By hand:
--   sqlite3 outbox.db "begin; $(cat sql/sqlite/upgrade_failed_view.sql) commit;"

drop view if exists outbox_failed;

create view outbox_failed as
select m.id, m.status, m.sender, coalesce(m.rendered_subject, m.subject) as subject, m.attempt_count, m.last_attempt_at, m.smtp_code, m.smtp_reply, m.last_error
  from outbox_message m
 where m.status in ('failed', 'unconfirmed', 'expired');
