-- Outbox for PostgreSQL, part 1 of 3: tables and indexes (schema "outbox").
--
-- Run as the role that will own the outbox, in the target database:
--   psql -v ON_ERROR_STOP=1 -d yourdb -f sql/postgresql/01_tables.sql
-- Safe to run more than once: every object is created only when it is missing, nothing is
-- dropped. Timestamps are timestamptz (stored as UTC); statuses are readable words.
--
-- On an installed schema it changes nothing and waits for nobody: a change to an existing table
-- runs only when the catalogue says it is missing, because even ADD COLUMN IF NOT EXISTS and
-- CREATE INDEX IF NOT EXISTS first take a table lock that waits for every open transaction on
-- the table and queues every caller behind it. A change that must run says so first, in a
-- notice starting "outbox:"; bound its wait as `outbox init` does (5 s unless --lock-timeout):
--   PGOPTIONS='-c lock_timeout=5s' psql -v ON_ERROR_STOP=1 -d yourdb -f sql/postgresql/01_tables.sql

create schema if not exists outbox;

-- The helpers below live in this session's temporary schema and go with it.
-- Runs a DDL statement when needed, saying first what it does (and so what it may wait for).
create or replace function pg_temp.outbox_change(needed boolean, ddl text)
returns void language plpgsql as $$
begin
    if needed then
        raise notice 'outbox: %', regexp_replace(btrim(ddl), '\s+', ' ', 'g');
        execute ddl;
    end if;
end $$;

create or replace function pg_temp.outbox_missing(relation text)
returns boolean language sql as $$
    select pg_catalog.to_regclass('outbox.' || relation) is null
$$;

create or replace function pg_temp.outbox_column_missing(tab text, col text)
returns boolean language sql as $$
    select not exists (select from pg_catalog.pg_attribute
                        where attrelid = ('outbox.' || tab)::regclass and attname = col and not attisdropped)
$$;

create or replace function pg_temp.outbox_option_missing(tab text, opt text)
returns boolean language sql as $$
    select not exists (select from pg_catalog.pg_class
                        where oid = ('outbox.' || tab)::regclass and opt = any (coalesce(reloptions, '{}')))
$$;

-- One row per mail. A mail is written as 'draft' and becomes visible to the worker only when
-- it is 'queued' (outbox_mail.enqueue / close_mail, or at once by outbox_mail.send).
--   draft -> queued -> sending -> sent
--                             \-> queued (retry later, due_at = next try; or handed back untried)
--                             \-> failed (permanent error, or out of attempts)
--                             \-> unconfirmed (the reply to the message data was lost, or the
--                                  worker died while sending: the server may have the mail;
--                                  with LostReplyPolicy Hold it waits here for an operator)
--   draft | queued | unconfirmed -> cancelled
--   queued | sending (lease run out) -> expired (expires_at passed before a worker began to send
--                                  it: never sent; checked when a worker claims the mail)
create table if not exists outbox.outbox_message (
    id               bigint generated always as identity primary key,
    status           text        not null default 'draft',
    -- 'mime': the worker builds the MIME message from the columns below;
    -- 'raw':  the caller wrote headers and body itself (open_mail / write_data), in outbox_raw_part.
    kind             text        not null default 'mime',
    sender           text        not null,
    reply_to         text,
    subject          text,
    text_body        text,
    html_body        text,
    priority         smallint    not null default 3,  -- X-Priority, 1 (highest) .. 5, as UTL_MAIL
    idempotency_key  text,
    mime_message_id  text        not null,            -- Message-ID header, the same on every retry
    profile          text,                             -- the worker's Outbox:Profiles entry to send through (null: by sender domain, else default)
    created_at       timestamptz not null default now(),
    send_after       timestamptz,
    queued_at        timestamptz,
    -- When the worker should next look at the row: the send time while 'queued', the lease
    -- expiry while 'sending' (a crashed worker's claim becomes claimable again then).
    due_at           timestamptz,
    lease_owner      text,
    taken_over_from  text,                             -- the worker whose expired lease this claim took over
    -- While 'sending': set by the worker holding the lease just before it begins the mail's SMTP
    -- transaction (its message data may reach the server from then on), null while the mail is
    -- claimed but untouched. A take-over reads it: set, the attempt of the worker that died is
    -- recorded 'unconfirmed'; null, the mail was never tried and goes on uncharged.
    data_started_at  timestamptz,
    attempt_count    integer     not null default 0,
    last_attempt_at  timestamptz,
    sent_at          timestamptz,
    smtp_code        integer,                          -- last SMTP reply code
    smtp_reply       text,                             -- last SMTP reply text, e.g. "2.0.0 Ok: queued as 4F2A1"
    last_error       text,
    template         text,                             -- the outbox_template the mail is rendered from (null: subject and bodies are plain text)
    template_locale  text,                             -- the locale of that template's row (null: its default row)
    template_data    text,                             -- the JSON object the template is rendered with, by the worker at send time
    rendered_subject text,                             -- the subject the worker rendered from the template, written with data_started_at: what the mail went out with
    expires_at       timestamptz,                      -- not sent after this time: a worker claiming it later marks it 'expired' (null: never expires)
    -- Extra header lines the caller gave ("List-Unsubscribe: <https://...>"), one per line,
    -- checked at enqueue (names as RFC 5322 allows, none the worker writes itself, no line
    -- break in a value, 4000 bytes in all). One bounded column, not a table: the claim reads
    -- it with the row, and Oracle holds it in one VARCHAR2.
    headers          text,
    constraint outbox_message_status_ck
        check (status in ('draft', 'queued', 'sending', 'sent', 'unconfirmed', 'failed', 'cancelled', 'expired')),
    constraint outbox_message_kind_ck check (kind in ('mime', 'raw')),
    constraint outbox_message_priority_ck check (priority between 1 and 5)
);

-- Columns added after the first release, for databases installed before them.
select pg_temp.outbox_change(pg_temp.outbox_column_missing('outbox_message', 'profile'),
    'alter table outbox.outbox_message add column profile text');

-- Ownership. created_by is the login role (session_user) of the session that made the mail;
-- outbox_mail's builder and UTL_SMTP-shaped calls act only on the caller's own mails, and an
-- idempotency key is unique per owner, so no caller can reach another's mail through a key.
-- Mails made before this column existed belong to the role that runs this script.
select pg_temp.outbox_change(pg_temp.outbox_column_missing('outbox_message', 'created_by'),
    'alter table outbox.outbox_message add column created_by text not null default session_user');
select pg_temp.outbox_change(exists (select from pg_catalog.pg_constraint
                                      where conrelid = 'outbox.outbox_message'::regclass and conname = 'outbox_message_idempotency_key_uq'),
    'alter table outbox.outbox_message drop constraint outbox_message_idempotency_key_uq');
select pg_temp.outbox_change(pg_temp.outbox_missing('outbox_message_idempotency_uq'), $ddl$
    create unique index outbox_message_idempotency_uq
    on outbox.outbox_message (created_by, idempotency_key)$ddl$);

-- Templates came with schema version 3. A mail made from a template holds a copy of the
-- template's subject and bodies (Liquid) in subject / text_body / html_body, taken at enqueue,
-- and its data; the worker renders them when it sends (see docs/templates.md).
select pg_temp.outbox_change(pg_temp.outbox_column_missing('outbox_message', 'template'),
    'alter table outbox.outbox_message add column template text');
select pg_temp.outbox_change(pg_temp.outbox_column_missing('outbox_message', 'template_locale'),
    'alter table outbox.outbox_message add column template_locale text');
select pg_temp.outbox_change(pg_temp.outbox_column_missing('outbox_message', 'template_data'),
    'alter table outbox.outbox_message add column template_data text');

-- The delivery record (data_started_at, above) came with schema version 4.
select pg_temp.outbox_change(pg_temp.outbox_column_missing('outbox_message', 'data_started_at'),
    'alter table outbox.outbox_message add column data_started_at timestamptz');

-- The rendered subject of a template mail came with schema version 5: list, show and the
-- dashboard show and search a mail by the subject it was sent with, not its Liquid.
select pg_temp.outbox_change(pg_temp.outbox_column_missing('outbox_message', 'rendered_subject'),
    'alter table outbox.outbox_message add column rendered_subject text');

-- Expiry and extra headers came with schema version 6, and with them the status 'expired': an
-- older install gets the wider check (only once, as adding a check reads the whole table).
select pg_temp.outbox_change(pg_temp.outbox_column_missing('outbox_message', 'expires_at'),
    'alter table outbox.outbox_message add column expires_at timestamptz');
select pg_temp.outbox_change(pg_temp.outbox_column_missing('outbox_message', 'headers'),
    'alter table outbox.outbox_message add column headers text');
do $$
begin
    if not exists (select 1 from pg_constraint
                    where conrelid = 'outbox.outbox_message'::regclass and conname = 'outbox_message_status_ck'
                      and pg_get_constraintdef(oid) like '%expired%') then
        raise notice 'outbox: alter table outbox.outbox_message: status check gains ''expired''';
        alter table outbox.outbox_message drop constraint if exists outbox_message_status_ck;
        alter table outbox.outbox_message add constraint outbox_message_status_ck
            check (status in ('draft', 'queued', 'sending', 'sent', 'unconfirmed', 'failed', 'cancelled', 'expired'));
    end if;
end $$;

-- Room on each page for the worker's mark before each mail's SMTP transaction (data_started_at),
-- which then stays on the page without new index entries (a HOT update). Applies to pages
-- written from now on.
select pg_temp.outbox_change(pg_temp.outbox_option_missing('outbox_message', 'fillfactor=80'),
    'alter table outbox.outbox_message set (fillfactor = 80)');

-- The claim reads only rows that are waiting or leased; sent, failed and cancelled rows are not
-- in this index, so the claim stays cheap however much history the table keeps.
select pg_temp.outbox_change(pg_temp.outbox_missing('outbox_message_due_ix'), $ddl$
    create index outbox_message_due_ix
    on outbox.outbox_message (due_at)
    where status in ('queued', 'sending')$ddl$);

-- The claim takes most of each batch by priority (1 first), then by due time.
select pg_temp.outbox_change(pg_temp.outbox_missing('outbox_message_priority_ix'), $ddl$
    create index outbox_message_priority_ix
    on outbox.outbox_message (priority, due_at)
    where status in ('queued', 'sending')$ddl$);

-- History by status (list, retry --status, purge, the DBA views). Waiting and leased rows are
-- left out: the due index above covers them, and a worker's guarded write-back ("still
-- sending and ours") then finds its rows by primary key. With them in, the planner, whose
-- statistics rarely see a 'sending' row, would scan every leased row for each write-back.
-- Installs from before had outbox_message_status_ix over every row: re-running this script replaces it.
select pg_temp.outbox_change(not pg_temp.outbox_missing('outbox_message_status_ix'), 'drop index outbox.outbox_message_status_ix');
select pg_temp.outbox_change(pg_temp.outbox_missing('outbox_message_finished_ix'), $ddl$
    create index outbox_message_finished_ix
    on outbox.outbox_message (status, created_at)
    where status not in ('queued', 'sending')$ddl$);

-- Envelope and header recipients. 'envelope' recipients come from outbox_mail.rcpt (raw mails,
-- whose headers the caller wrote). status / smtp_reply record the server's answer per recipient:
-- null (not asked yet), 'accepted', 'deferred' (a 4xx: a later attempt sends to it again) or
-- 'rejected' (a 5xx). A retry goes only to the recipients that are null or deferred.
create table if not exists outbox.outbox_recipient (
    id          bigint generated always as identity primary key,
    message_id  bigint not null references outbox.outbox_message (id) on delete cascade,
    kind        text   not null,
    address     text   not null,
    status      text,
    smtp_reply  text,
    constraint outbox_recipient_kind_ck check (kind in ('to', 'cc', 'bcc', 'envelope')),
    constraint outbox_recipient_status_ck check (status in ('accepted', 'deferred', 'rejected'))
);

-- 'deferred' came with schema version 2: an older install gets the wider check (only once, as
-- adding a check reads the whole table).
do $$
begin
    if not exists (select 1 from pg_constraint
                    where conrelid = 'outbox.outbox_recipient'::regclass and conname = 'outbox_recipient_status_ck'
                      and pg_get_constraintdef(oid) like '%deferred%') then
        alter table outbox.outbox_recipient drop constraint if exists outbox_recipient_status_ck;
        alter table outbox.outbox_recipient add constraint outbox_recipient_status_ck
            check (status in ('accepted', 'deferred', 'rejected'));
    end if;
end $$;

select pg_temp.outbox_change(pg_temp.outbox_missing('outbox_recipient_message_ix'), $ddl$
    create index outbox_recipient_message_ix on outbox.outbox_recipient (message_id)$ddl$);
-- Room on each page for the worker's one update per recipient (its status), which then stays on
-- the page without new index entries (a HOT update): about 40 µs less database time per mail
-- in the benchmark. Applies to pages written from now on.
select pg_temp.outbox_change(pg_temp.outbox_option_missing('outbox_recipient', 'fillfactor=80'),
    'alter table outbox.outbox_recipient set (fillfactor = 80)');

-- Attachments of any size (bytea holds up to 1 GB). content_id set = an inline part of a
-- multipart/related body (an image referenced as cid:... from the HTML).
create table if not exists outbox.outbox_attachment (
    id          bigint  generated always as identity primary key,
    message_id  bigint  not null references outbox.outbox_message (id) on delete cascade,
    file_name   text,
    mime_type   text    not null default 'application/octet-stream',
    content_id  text,
    is_inline   boolean not null default false,
    content     bytea   not null
);

-- Uncompressed out-of-line storage lets the worker read an attachment in slices
-- (substring on an EXTERNAL value fetches only the slice), so it never holds a whole one.
select pg_temp.outbox_change(exists (select from pg_catalog.pg_attribute
                                      where attrelid = 'outbox.outbox_attachment'::regclass and attname = 'content' and attstorage <> 'e'),
    'alter table outbox.outbox_attachment alter column content set storage external');

select pg_temp.outbox_change(pg_temp.outbox_missing('outbox_attachment_message_ix'), $ddl$
    create index outbox_attachment_message_ix on outbox.outbox_attachment (message_id)$ddl$);

-- The message text of a 'raw' mail, in the order outbox_mail.write_data / write_raw_data wrote it.
create table if not exists outbox.outbox_raw_part (
    message_id  bigint  not null references outbox.outbox_message (id) on delete cascade,
    part_no     integer not null,
    content     bytea   not null,
    primary key (message_id, part_no)
);

-- One row per delivery attempt, and one per operator action (outcome 'retried' or 'cancelled',
-- attempt_no 0, worker naming who did it: `outbox retry` / `cancel` or the dashboard).
create table if not exists outbox.outbox_attempt (
    id            bigint generated always as identity primary key,
    message_id    bigint      not null references outbox.outbox_message (id) on delete cascade,
    attempt_no    integer     not null,
    attempted_at  timestamptz not null default now(),
    worker        text        not null,
    account       text,                               -- the Outbox:Accounts entry (or "default": Outbox:Smtp) the attempt went through
    outcome       text        not null,
    smtp_code     integer,
    smtp_reply    text,
    error         text,
    constraint outbox_attempt_outcome_ck check (outcome in ('sent', 'retry', 'unconfirmed', 'failed', 'retried', 'cancelled'))
);

select pg_temp.outbox_change(pg_temp.outbox_column_missing('outbox_attempt', 'account'),
    'alter table outbox.outbox_attempt add column account text');

select pg_temp.outbox_change(pg_temp.outbox_missing('outbox_attempt_message_ix'), $ddl$
    create index outbox_attempt_message_ix on outbox.outbox_attempt (message_id)$ddl$);

-- Operator actions ('retried', 'cancelled') came with schema version 3: an older install gets
-- the wider check (only once, as adding a check reads the whole table).
do $$
begin
    if not exists (select 1 from pg_constraint
                    where conrelid = 'outbox.outbox_attempt'::regclass and conname = 'outbox_attempt_outcome_ck'
                      and pg_get_constraintdef(oid) like '%cancelled%') then
        alter table outbox.outbox_attempt drop constraint if exists outbox_attempt_outcome_ck;
        alter table outbox.outbox_attempt add constraint outbox_attempt_outcome_ck
            check (outcome in ('sent', 'retry', 'unconfirmed', 'failed', 'retried', 'cancelled'));
    end if;
end $$;

-- The dashboard's last day (sent and failed per hour, each account's last error) reads attempts
-- by time; without this it would read the whole history.
select pg_temp.outbox_change(pg_temp.outbox_missing('outbox_attempt_time_ix'), $ddl$
    create index outbox_attempt_time_ix on outbox.outbox_attempt (attempted_at)$ddl$);

-- Rate limits shared by every worker: one row per sent (or sending) mail per account, kept
-- for the longest window configured. done_at is when the send finished, or, while it runs,
-- the latest it could finish; a send may start only while fewer than the limit's count of
-- slots end inside the window. outbox_rate_account holds one row per account to lock, so
-- workers reserve slots for one account one at a time.
create table if not exists outbox.outbox_rate_account (
    account  text primary key
);

create table if not exists outbox.outbox_rate_slot (
    id           bigint generated always as identity primary key,
    account      text        not null,
    reserved_at  timestamptz not null default now(),
    done_at      timestamptz not null,
    recipients   integer                                -- the mail's recipients, for a limit counted by recipients
);

select pg_temp.outbox_change(pg_temp.outbox_missing('outbox_rate_slot_account_ix'), $ddl$
    create index outbox_rate_slot_account_ix on outbox.outbox_rate_slot (account, done_at)$ddl$);

-- A limit counted by recipients (schema version 7) sums them; a slot of an older release counts one.
select pg_temp.outbox_change(pg_temp.outbox_column_missing('outbox_rate_slot', 'recipients'), $ddl$
    alter table outbox.outbox_rate_slot add column recipients integer$ddl$);

-- Connection limits shared by every worker (schema version 7): one row per open SMTP session
-- (or Graph request stream) per account, taken before connecting and deleted when the session
-- closes, under the same lock on outbox_rate_account as the rate slots. lease_until is on the
-- database clock and renewed while the session lives, so a crashed worker's row stops counting
-- one lease after its last renewal.
create table if not exists outbox.outbox_connection_slot (
    id           bigint generated always as identity primary key,
    account      text        not null,
    worker       text        not null,
    taken_at     timestamptz not null default now(),
    lease_until  timestamptz not null
);

select pg_temp.outbox_change(pg_temp.outbox_missing('outbox_connection_slot_account_ix'), $ddl$
    create index outbox_connection_slot_account_ix on outbox.outbox_connection_slot (account, lease_until)$ddl$);

-- Mail templates (Liquid), put by a DBA with plain SQL or `outbox template put`, used by
-- outbox_mail.send_template / set_template and OutboxClient. One row per name and locale; the row
-- without a locale is the default a mail falls back to. Only `outbox template put` checks the
-- Liquid syntax; a row written with plain SQL is checked when a mail is rendered from it.
-- changed_by / changed_at follow every UPDATE (trigger below).
create table if not exists outbox.outbox_template (
    id          bigint generated always as identity primary key,
    name        text        not null,
    locale      text,
    subject     text        not null,
    text_body   text,
    html_body   text,
    created_at  timestamptz not null default now(),
    created_by  text        not null default session_user,
    changed_at  timestamptz not null default now(),
    changed_by  text        not null default session_user,
    constraint outbox_template_name_ck check (name ~ '^[A-Za-z0-9_.-]{1,100}$'),
    constraint outbox_template_locale_ck check (locale ~ '^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,3}$'),
    constraint outbox_template_body_ck check (text_body is not null or html_body is not null)
);

select pg_temp.outbox_change(pg_temp.outbox_missing('outbox_template_name_uq'), $ddl$
    create unique index outbox_template_name_uq on outbox.outbox_template (name, coalesce(locale, ''))$ddl$);

create or replace function outbox.template_changed()
returns trigger language plpgsql as $$
begin
    new.changed_at := now();
    new.changed_by := session_user;
    return new;
end $$;

select pg_temp.outbox_change(not exists (select from pg_catalog.pg_trigger
                                          where tgrelid = 'outbox.outbox_template'::regclass and tgname = 'outbox_template_changed'), $ddl$
create trigger outbox_template_changed
    before update on outbox.outbox_template
    for each row execute function outbox.template_changed()$ddl$);

-- Pauses (schema version 6): one row per scope that was ever paused, '*' for all sending or a
-- profile name (an entry of the worker's Outbox:Profiles; a worker without profiles sends all
-- its mail as "default"). A scope is paused while resumed_at is null. Written by outbox.pause /
-- outbox.resume (outbox_worker only), `outbox pause` / `outbox resume` and the dashboard; each
-- worker reads the paused rows at most once per poll interval and stops between mails.
create table if not exists outbox.outbox_pause (
    scope       text        primary key,
    paused_by   text        not null,
    paused_at   timestamptz not null default now(),
    reason      text,
    resumed_by  text,
    resumed_at  timestamptz,
    constraint outbox_pause_scope_ck check (scope = '*' or scope ~ '^[A-Za-z0-9_.-]{1,100}$'),
    constraint outbox_pause_reason_ck check (length(reason) <= 500),
    constraint outbox_pause_by_ck check (length(paused_by) <= 200 and length(resumed_by) <= 200)
);

-- The running workers (schema version 6), one row per worker name (Outbox:Dispatch:WorkerName,
-- else host:pid), written by the worker itself: at start, then at most once per poll interval
-- after a pass, never per mail. A worker that stops cleanly sets stopped_at; a worker starting
-- deletes the rows not seen for a day. poll_seconds lets a reader tell a stale row (not seen for
-- two poll intervals and a minute) from a live one.
create table if not exists outbox.outbox_worker (
    name          text        primary key,
    host          text        not null,
    pid           integer     not null,
    version       text        not null,
    poll_seconds  integer     not null,
    started_at    timestamptz not null,
    last_seen_at  timestamptz not null,
    last_pass_at  timestamptz,
    last_result   text,                             -- what the last pass did, or why it failed: one line
    paused        text,                             -- the pauses the worker last read ('*', profile names), null when none
    stopped_at    timestamptz
);

-- Limits checked at enqueue, by outbox_mail and by OutboxClient alike. Change them with UPDATE;
-- re-running this script keeps the values a DBA set.
create table if not exists outbox.outbox_setting (
    name         text primary key,
    value        text not null,
    description  text
);

insert into outbox.outbox_setting (name, value, description) values
    ('max_message_bytes', '0', 'Largest mail accepted at enqueue: bodies plus attachments, before encoding. 0 means no limit.'),
    ('blocked_extensions', 'exe,dll,vbs,js', 'Attachment file name extensions refused at enqueue, comma-separated (the defaults of SQL Server Database Mail).'),
    ('max_recipients', '1000', 'Most recipients (to, cc and bcc together) one mail may have; Exchange Online''s own limit. 0 means no limit.'),
    ('max_address_chars', '500', 'Longest address accepted at enqueue, display name included (an address itself is at most 254). 0 means no limit.'),
    ('max_header_chars', '1000', 'Longest header value accepted at enqueue: subject, attachment names, MIME types, content ids (a header line is at most 998). 0 means no limit.'),
    ('schema_version', '7', 'The version of the outbox schema the install scripts made; `outbox check db` compares it with the version the program expects.')
on conflict (name) do nothing;

-- A DBA's limits stay as set; the schema version is always this script's.
update outbox.outbox_setting set value = '7' where name = 'schema_version' and value <> '7';

-- The database this outbox was installed in (schema version 6). A copy of the database (CREATE
-- DATABASE ... TEMPLATE, a dump restored elsewhere) reads another identity, and its worker sends
-- nothing until an operator adopts it with `outbox adopt`, which records the new identity. Never
-- overwritten here: running this script on a copy must not adopt it. The expression is the
-- worker's (PostgreSqlDialect.IdentityExpression).
insert into outbox.outbox_setting (name, value, description)
select 'database_identity', 'PostgreSQL system ' || s.system_identifier || ', database oid ' || d.oid,
       'The database the outbox was installed in or last adopted in; a worker in another (a copy) sends nothing until `outbox adopt`.'
  from pg_catalog.pg_control_system() s, pg_catalog.pg_database d
 where d.datname = current_database()
on conflict (name) do nothing;

-- Views for DBAs (the same in every database):
--   select * from outbox.outbox_queue_summary;   -- mails per status, and how old the oldest is
--   select * from outbox.outbox_failed;          -- mails that will not go out (failed, unconfirmed, expired), with the last error
-- oldest_age_seconds: time since the oldest mail of the status was queued (created, for drafts).
create or replace view outbox.outbox_queue_summary as
select status,
       count(*) as messages,
       min(coalesce(queued_at, created_at)) as oldest_at,
       round(extract(epoch from now() - min(coalesce(queued_at, created_at))))::bigint as oldest_age_seconds
  from outbox.outbox_message
 group by status;

-- subject: what a template mail went out with (rendered_subject), once the worker rendered it.
create or replace view outbox.outbox_failed as
select m.id, m.status, m.sender, coalesce(m.rendered_subject, m.subject) as subject, m.attempt_count, m.last_attempt_at, m.smtp_code, m.smtp_reply, m.last_error
  from outbox.outbox_message m
 where m.status in ('failed', 'unconfirmed', 'expired');
