-- Outbox for SQLite: outbox_attempt with the outcome check of schema version 3, which allows
-- the operator actions 'retried' and 'cancelled' (rows with attempt_no 0 naming who acted).
--
-- `outbox` runs this once, in one transaction, on a file made before version 3 (whose check
-- lacks them): SQLite cannot change a check in place, so the table is made again with its
-- rows. Nothing references outbox_attempt, so nothing else changes. By hand:
--   sqlite3 outbox.db "begin; $(cat sql/sqlite/upgrade_attempt_outcome.sql) commit;"

create table outbox_attempt_v3 (
    id            integer primary key,
    message_id    integer not null references outbox_message (id) on delete cascade,
    attempt_no    integer not null,
    attempted_at  text    not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    worker        text    not null,
    account       text,
    outcome       text    not null check (outcome in ('sent', 'retry', 'unconfirmed', 'failed', 'retried', 'cancelled')),
    smtp_code     integer,
    smtp_reply    text,
    error         text
);

insert into outbox_attempt_v3 (id, message_id, attempt_no, attempted_at, worker, account, outcome, smtp_code, smtp_reply, error)
select id, message_id, attempt_no, attempted_at, worker, account, outcome, smtp_code, smtp_reply, error from outbox_attempt;

drop table outbox_attempt;

alter table outbox_attempt_v3 rename to outbox_attempt;

create index if not exists outbox_attempt_message_ix on outbox_attempt (message_id);

create index if not exists outbox_attempt_time_ix on outbox_attempt (attempted_at);
