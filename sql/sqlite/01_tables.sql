-- Outbox for SQLite: tables and indexes.
--
-- `outbox init` (and every other outbox command) runs this file on a SQLite database
-- automatically; by hand:  sqlite3 outbox.db < sql/sqlite/01_tables.sql
-- Safe to run more than once: every object is created only when it is missing.
--
-- The same tables as sql/postgresql/01_tables.sql, in SQLite's types: timestamps are UTC text
-- in ISO 8601 ('2026-11-29T10:15:00.123Z', which sorts as time does), booleans are 0 / 1.
-- SQLite has no stored procedures: .NET code enqueues with OutboxClient, shells with
-- `outbox send`. See that file for what each column means.

pragma journal_mode = wal;

create table if not exists outbox_message (
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
-- template, template_locale, template_data came with schema version 3, data_started_at with 4,
-- rendered_subject (the subject the worker rendered from the template, written with
-- data_started_at) with 5, expires_at and headers with 6;
-- `outbox` adds them to a file made before (SQLite has no "add column if not exists"). The
-- status 'expired' came with 6 too: SQLite cannot widen a check in place, so `outbox` makes
-- the table again once with upgrade_message_status.sql.

-- Only waiting and leased rows are in the claim's index (see the PostgreSQL script).
create index if not exists outbox_message_due_ix
    on outbox_message (due_at)
    where status in ('queued', 'sending');

-- The claim takes most of each batch by priority (1 first), then by due time.
create index if not exists outbox_message_priority_ix
    on outbox_message (priority, due_at)
    where status in ('queued', 'sending');

create index if not exists outbox_message_status_ix on outbox_message (status, created_at);

create table if not exists outbox_recipient (
    id          integer primary key,
    message_id  integer not null references outbox_message (id) on delete cascade,
    kind        text    not null check (kind in ('to', 'cc', 'bcc', 'envelope')),
    address     text    not null,
    status      text    check (status in ('accepted', 'deferred', 'rejected')),
    smtp_reply  text
);

create index if not exists outbox_recipient_message_ix on outbox_recipient (message_id);
-- A file made before schema version 2 has a check without 'deferred'; SQLite cannot change a
-- check in place, so `outbox` rebuilds that table once with upgrade_recipient_status.sql.

-- The worker streams content through SQLite's incremental blob I/O, by rowid (id).
create table if not exists outbox_attachment (
    id          integer primary key,
    message_id  integer not null references outbox_message (id) on delete cascade,
    file_name   text,
    mime_type   text    not null default 'application/octet-stream',
    content_id  text,
    is_inline   integer not null default 0 check (is_inline in (0, 1)),
    content     blob    not null
);

create index if not exists outbox_attachment_message_ix on outbox_attachment (message_id);

create table if not exists outbox_raw_part (
    message_id  integer not null references outbox_message (id) on delete cascade,
    part_no     integer not null,
    content     blob    not null,
    primary key (message_id, part_no)
);

create table if not exists outbox_attempt (
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

create index if not exists outbox_attempt_message_ix on outbox_attempt (message_id);

-- The dashboard's last day reads attempts by time (see the PostgreSQL script).
create index if not exists outbox_attempt_time_ix on outbox_attempt (attempted_at);

-- Rate limits shared by every worker (see the PostgreSQL script).
create table if not exists outbox_rate_account (
    account  text primary key
);

create table if not exists outbox_rate_slot (
    id           integer primary key,
    account      text not null,
    reserved_at  text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    done_at      text not null,
    recipients   integer
);
-- recipients came with schema version 7; `outbox` adds it to a file made before.

create index if not exists outbox_rate_slot_account_ix on outbox_rate_slot (account, done_at);

-- Connection limits shared by every worker (schema version 7; see the PostgreSQL script).
create table if not exists outbox_connection_slot (
    id           integer primary key,
    account      text not null,
    worker       text not null,
    taken_at     text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    lease_until  text not null
);

create index if not exists outbox_connection_slot_account_ix on outbox_connection_slot (account, lease_until);

-- Mail templates (see the PostgreSQL script). SQLite has no users: created_by / changed_by are
-- the operating system user that ran `outbox template put`. A name is 1 to 100 of letters,
-- digits, _ . -; a locale a language tag such as de or pt-BR.
create table if not exists outbox_template (
    id          integer primary key,
    name        text not null check (length(name) between 1 and 100 and name not glob '*[^A-Za-z0-9_.-]*'),
    locale      text check (locale is null or (length(locale) between 2 and 35 and locale not glob '*[^A-Za-z0-9-]*')),
    subject     text not null,
    text_body   text,
    html_body   text,
    created_at  text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    created_by  text,
    changed_at  text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    changed_by  text,
    check (text_body is not null or html_body is not null)
);

create unique index if not exists outbox_template_name_uq on outbox_template (name, coalesce(locale, ''));

-- An UPDATE by hand that leaves changed_at alone still moves it.
create trigger if not exists outbox_template_changed
    after update on outbox_template
    for each row when new.changed_at = old.changed_at
begin
    update outbox_template set changed_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') where id = new.id;
end;

-- Pauses and the running workers (schema version 6): see the PostgreSQL script. Times are UTC
-- ISO 8601 text.
create table if not exists outbox_pause (
    scope       text primary key check (scope = '*' or (length(scope) between 1 and 100 and scope not glob '*[^A-Za-z0-9_.-]*')),
    paused_by   text not null check (length(paused_by) <= 200),
    paused_at   text not null default (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    reason      text check (length(reason) <= 500),
    resumed_by  text check (length(resumed_by) <= 200),
    resumed_at  text
);

create table if not exists outbox_worker (
    name          text primary key,
    host          text not null,
    pid           integer not null,
    version       text not null,
    poll_seconds  integer not null,
    started_at    text not null,
    last_seen_at  text not null,
    last_pass_at  text,
    last_result   text,
    paused        text,
    stopped_at    text
);

-- Limits checked at enqueue by OutboxClient (see the PostgreSQL script). Change them with UPDATE.
create table if not exists outbox_setting (
    name         text primary key,
    value        text not null,
    description  text
);

insert or ignore into outbox_setting (name, value, description) values
    ('max_message_bytes', '0', 'Largest mail accepted at enqueue: bodies plus attachments, before encoding. 0 means no limit.'),
    ('blocked_extensions', 'exe,dll,vbs,js', 'Attachment file name extensions refused at enqueue, comma-separated (the defaults of SQL Server Database Mail).'),
    ('max_recipients', '1000', 'Most recipients (to, cc and bcc together) one mail may have; Exchange Online''s own limit. 0 means no limit.'),
    ('max_address_chars', '500', 'Longest address accepted at enqueue, display name included (an address itself is at most 254). 0 means no limit.'),
    ('max_header_chars', '1000', 'Longest header value accepted at enqueue: subject, attachment names, MIME types, content ids (a header line is at most 998). 0 means no limit.'),
    ('schema_version', '7', 'The version of the outbox schema the install scripts made; `outbox check db` compares it with the version the program expects.');

-- A DBA's limits stay as set; the schema version is always this script's.
update outbox_setting set value = '7' where name = 'schema_version' and value <> '7';

-- Views for DBAs (the same in every database): mails per status with the age of the oldest,
-- and the mails that will not go out with their last error.
create view if not exists outbox_queue_summary as
select status,
       count(*) as messages,
       min(coalesce(queued_at, created_at)) as oldest_at,
       cast(round((julianday('now') - julianday(min(coalesce(queued_at, created_at)))) * 86400) as integer) as oldest_age_seconds
  from outbox_message
 group by status;

create view if not exists outbox_failed as
select m.id, m.status, m.sender, coalesce(m.rendered_subject, m.subject) as subject, m.attempt_count, m.last_attempt_at, m.smtp_code, m.smtp_reply, m.last_error
  from outbox_message m
 where m.status in ('failed', 'unconfirmed', 'expired');
