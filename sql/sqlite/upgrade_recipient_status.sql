-- Outbox for SQLite: outbox_recipient with the status check of schema version 2, which allows
-- 'deferred' (a 4xx reply to RCPT TO: a later attempt sends to that recipient again).
--
-- `outbox` runs this once, in one transaction, on a file made before version 2 (whose check
-- lacks 'deferred'): SQLite cannot change a check in place, so the table is made again with
-- its rows. Nothing references outbox_recipient, so nothing else changes. By hand:
--   sqlite3 outbox.db "begin; $(cat sql/sqlite/upgrade_recipient_status.sql) commit;"

create table outbox_recipient_v2 (
    id          integer primary key,
    message_id  integer not null references outbox_message (id) on delete cascade,
    kind        text    not null check (kind in ('to', 'cc', 'bcc', 'envelope')),
    address     text    not null,
    status      text    check (status in ('accepted', 'deferred', 'rejected')),
    smtp_reply  text
);

insert into outbox_recipient_v2 (id, message_id, kind, address, status, smtp_reply)
select id, message_id, kind, address, status, smtp_reply from outbox_recipient;

drop table outbox_recipient;

alter table outbox_recipient_v2 rename to outbox_recipient;

create index if not exists outbox_recipient_message_ix on outbox_recipient (message_id);
