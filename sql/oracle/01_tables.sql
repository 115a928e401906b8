-- Outbox for Oracle, part 1: tables and indexes, in the schema you connect to.
--
-- Run as the schema that will own the outbox (or through install.sql, which runs every part):
--   sql outbox@//dbhost:1521/FREEPDB1 @sql/oracle/01_tables.sql        (SQLcl or SQL*Plus)
-- Safe to run again: each object is created only when it is missing (a dictionary check, then
-- EXECUTE IMMEDIATE), nothing is dropped. Needs Oracle Database 12.2 or later (identity columns,
-- FETCH FIRST). Timestamps are TIMESTAMP columns holding UTC (SYS_EXTRACT_UTC(SYSTIMESTAMP));
-- statuses are readable words; SMTP replies and errors are VARCHAR2(4000) (bytes), so the worker
-- cuts them to 1000 characters everywhere. The columns are those of sql/postgresql/01_tables.sql, which
-- says what each one means; a test checks that the three databases' scripts do not drift.

set define off
whenever sqlerror exit failure rollback

declare
    procedure create_table(p_name varchar2, p_ddl varchar2) is
        v_count pls_integer;
    begin
        select count(*) into v_count from user_tables where table_name = upper(p_name);
        if v_count = 0 then
            execute immediate p_ddl;
        end if;
    end;

    -- For schemas installed before a column was added.
    procedure add_column(p_table varchar2, p_column varchar2, p_type varchar2) is
        v_count pls_integer;
    begin
        select count(*) into v_count from user_tab_columns where table_name = upper(p_table) and column_name = upper(p_column);
        if v_count = 0 then
            execute immediate 'alter table ' || p_table || ' add (' || p_column || ' ' || p_type || ')';
        end if;
    end;

    -- For schemas installed before a check constraint allowed a new value: made again, once.
    -- The old check is found by what it checks ("column in (...)"), not by its name, which a
    -- DBA may have changed (dropping it by name would fail with ORA-02443).
    procedure widen_check(p_table varchar2, p_name varchar2, p_column varchar2, p_new_value varchar2, p_condition varchar2) is
        v_count pls_integer;
    begin
        select count(*) into v_count from user_constraints
         where table_name = upper(p_table) and constraint_type = 'C'
           and lower(search_condition_vc) like p_column || ' in (%''' || p_new_value || '''%';
        if v_count = 0 then
            for c in (select constraint_name from user_constraints
                       where table_name = upper(p_table) and constraint_type = 'C'
                         and lower(search_condition_vc) like p_column || ' in (%') loop
                execute immediate 'alter table ' || p_table || ' drop constraint "' || c.constraint_name || '"';
            end loop;
            execute immediate 'alter table ' || p_table || ' add constraint ' || p_name || ' check (' || p_condition || ')';
        end if;
    end;

    procedure create_index(p_name varchar2, p_ddl varchar2) is
        v_count pls_integer;
    begin
        select count(*) into v_count from user_indexes where index_name = upper(p_name);
        if v_count = 0 then
            execute immediate p_ddl;
        end if;
    end;
begin
    -- draft -> queued -> sending -> sent | queued (retry) | failed | unconfirmed; cancelled;
    -- queued | sending (lease run out) -> expired (expires_at passed before a worker began to send it).
    create_table('outbox_message', q'[
        create table outbox_message (
            id               number(19)          generated always as identity primary key,
            status           varchar2(20 char)   default 'draft' not null,
            kind             varchar2(10 char)   default 'mime' not null,
            sender           varchar2(1000 char) not null,
            reply_to         varchar2(1000 char),
            subject          varchar2(2000 char),
            text_body        clob,
            html_body        clob,
            priority         number(1)           default 3 not null,
            idempotency_key  varchar2(400 char),
            mime_message_id  varchar2(400 char)  not null,
            profile          varchar2(100 char),
            created_at       timestamp           default sys_extract_utc(systimestamp) not null,
            send_after       timestamp,
            queued_at        timestamp,
            due_at           timestamp,
            lease_owner      varchar2(200 char),
            taken_over_from  varchar2(200 char),
            data_started_at  timestamp,
            attempt_count    number(10)          default 0 not null,
            last_attempt_at  timestamp,
            sent_at          timestamp,
            smtp_code        number(3),
            smtp_reply       varchar2(4000),
            last_error       varchar2(4000),
            template         varchar2(100 char),
            template_locale  varchar2(35 char),
            template_data    clob,
            rendered_subject varchar2(2000 char),
            expires_at       timestamp,
            headers          varchar2(4000),
            constraint outbox_message_status_ck
                check (status in ('draft', 'queued', 'sending', 'sent', 'unconfirmed', 'failed', 'cancelled', 'expired')),
            constraint outbox_message_kind_ck check (kind in ('mime', 'raw')),
            constraint outbox_message_priority_ck check (priority between 1 and 5)
        )]');

    add_column('outbox_message', 'profile', 'varchar2(100 char)');

    -- Templates came with schema version 3 (see sql/postgresql/01_tables.sql).
    add_column('outbox_message', 'template', 'varchar2(100 char)');
    add_column('outbox_message', 'template_locale', 'varchar2(35 char)');
    add_column('outbox_message', 'template_data', 'clob');

    -- The delivery record came with schema version 4 (see sql/postgresql/01_tables.sql).
    add_column('outbox_message', 'data_started_at', 'timestamp');

    -- The rendered subject of a template mail came with schema version 5 (see sql/postgresql/01_tables.sql).
    add_column('outbox_message', 'rendered_subject', 'varchar2(2000 char)');

    -- Expiry and extra headers came with schema version 6, and the status 'expired' with them
    -- (see sql/postgresql/01_tables.sql). headers holds at most 4000 bytes, checked at enqueue.
    add_column('outbox_message', 'expires_at', 'timestamp');
    add_column('outbox_message', 'headers', 'varchar2(4000)');
    widen_check('outbox_message', 'outbox_message_status_ck', 'status', 'expired',
        q'[status in ('draft', 'queued', 'sending', 'sent', 'unconfirmed', 'failed', 'cancelled', 'expired')]');

    -- Ownership (see sql/postgresql/01_tables.sql): created_by is the session user that made the
    -- mail; OUTBOX_MAIL acts only on the caller's own mails and an idempotency key is unique per
    -- owner. The index leaves out rows without a key (an entirely NULL key is not indexed).
    add_column('outbox_message', 'created_by', q'[varchar2(128 char) default sys_context('userenv', 'session_user') not null]');
    for c in (select constraint_name from user_constraints
               where table_name = 'OUTBOX_MESSAGE' and constraint_name = 'OUTBOX_MESSAGE_IDEMPOTENCY_UQ') loop
        execute immediate 'alter table outbox_message drop constraint ' || c.constraint_name || ' drop index';
    end loop;
    create_index('outbox_message_idempotency_uq', q'[
        create unique index outbox_message_idempotency_uq on outbox_message
            (case when idempotency_key is not null then created_by end, idempotency_key)]');

    -- Oracle has no partial indexes; an index on an expression that is NULL for finished rows
    -- does the same job: entirely-NULL keys are not indexed, so sent, failed and cancelled rows
    -- stay out of the claim's path however much history the table keeps. The claim's WHERE
    -- clause uses exactly this expression.
    create_index('outbox_message_due_ix', q'[
        create index outbox_message_due_ix on outbox_message
            (case when status in ('queued', 'sending') then due_at end)]');

    -- The claim takes most of each batch by priority (1 first), then by due time.
    create_index('outbox_message_priority_ix', q'[
        create index outbox_message_priority_ix on outbox_message
            (case when status in ('queued', 'sending') then priority end,
             case when status in ('queued', 'sending') then due_at end)]');

    create_index('outbox_message_status_ix',
        'create index outbox_message_status_ix on outbox_message (status, created_at)');

    create_table('outbox_recipient', q'[
        create table outbox_recipient (
            id          number(19)          generated always as identity primary key,
            message_id  number(19)          not null
                constraint outbox_recipient_message_fk references outbox_message (id) on delete cascade,
            kind        varchar2(10 char)   not null,
            address     varchar2(1000 char) not null,
            status      varchar2(10 char),
            smtp_reply  varchar2(4000),
            constraint outbox_recipient_kind_ck check (kind in ('to', 'cc', 'bcc', 'envelope')),
            constraint outbox_recipient_status_ck check (status in ('accepted', 'deferred', 'rejected'))
        )]');

    -- 'deferred' (a 4xx reply: retried) came with schema version 2.
    widen_check('outbox_recipient', 'outbox_recipient_status_ck', 'status', 'deferred', q'[status in ('accepted', 'deferred', 'rejected')]');

    create_index('outbox_recipient_message_ix',
        'create index outbox_recipient_message_ix on outbox_recipient (message_id)');

    -- Attachments of any size. SecureFiles LOBs stored out of row: the worker reads them through
    -- the LOB locator in pieces, never whole.
    create_table('outbox_attachment', q'[
        create table outbox_attachment (
            id          number(19)          generated always as identity primary key,
            message_id  number(19)          not null
                constraint outbox_attachment_message_fk references outbox_message (id) on delete cascade,
            file_name   varchar2(1000 char),
            mime_type   varchar2(400 char)  default 'application/octet-stream' not null,
            content_id  varchar2(400 char),
            is_inline   number(1)           default 0 not null,
            content     blob                not null,
            constraint outbox_attachment_inline_ck check (is_inline in (0, 1))
        ) lob (content) store as securefile (disable storage in row)]');

    create_index('outbox_attachment_message_ix',
        'create index outbox_attachment_message_ix on outbox_attachment (message_id)');

    -- The message text of a 'raw' mail, in the order write_data / write_raw_data wrote it.
    create_table('outbox_raw_part', q'[
        create table outbox_raw_part (
            message_id  number(19) not null
                constraint outbox_raw_part_message_fk references outbox_message (id) on delete cascade,
            part_no     number(10) not null,
            content     blob       not null,
            constraint outbox_raw_part_pk primary key (message_id, part_no)
        )]');

    create_table('outbox_attempt', q'[
        create table outbox_attempt (
            id            number(19)         generated always as identity primary key,
            message_id    number(19)         not null
                constraint outbox_attempt_message_fk references outbox_message (id) on delete cascade,
            attempt_no    number(10)         not null,
            attempted_at  timestamp          default sys_extract_utc(systimestamp) not null,
            worker        varchar2(200 char) not null,
            account       varchar2(100 char),
            outcome       varchar2(20 char)  not null,
            smtp_code     number(3),
            smtp_reply    varchar2(4000),
            error         varchar2(4000),
            constraint outbox_attempt_outcome_ck check (outcome in ('sent', 'retry', 'unconfirmed', 'failed', 'retried', 'cancelled'))
        )]');

    add_column('outbox_attempt', 'account', 'varchar2(100 char)');

    create_index('outbox_attempt_message_ix',
        'create index outbox_attempt_message_ix on outbox_attempt (message_id)');

    -- Operator actions (outcome 'retried' or 'cancelled', attempt_no 0) came with schema version 3.
    widen_check('outbox_attempt', 'outbox_attempt_outcome_ck', 'outcome', 'cancelled',
        q'[outcome in ('sent', 'retry', 'unconfirmed', 'failed', 'retried', 'cancelled')]');

    -- The dashboard's last day reads attempts by time (see sql/postgresql/01_tables.sql).
    create_index('outbox_attempt_time_ix',
        'create index outbox_attempt_time_ix on outbox_attempt (attempted_at)');

    -- Rate limits shared by every worker (see sql/postgresql/01_tables.sql).
    create_table('outbox_rate_account', q'[
        create table outbox_rate_account (
            account  varchar2(100 char) primary key
        )]');

    create_table('outbox_rate_slot', q'[
        create table outbox_rate_slot (
            id           number(19)         generated always as identity primary key,
            account      varchar2(100 char) not null,
            reserved_at  timestamp          default sys_extract_utc(systimestamp) not null,
            done_at      timestamp          not null,
            recipients   number(10)
        )]');

    create_index('outbox_rate_slot_account_ix',
        'create index outbox_rate_slot_account_ix on outbox_rate_slot (account, done_at)');
    -- A limit counted by recipients sums them (schema version 7).
    add_column('outbox_rate_slot', 'recipients', 'number(10)');

    -- Connection limits shared by every worker (schema version 7; see sql/postgresql/01_tables.sql).
    create_table('outbox_connection_slot', q'[
        create table outbox_connection_slot (
            id           number(19)         generated always as identity primary key,
            account      varchar2(100 char) not null,
            worker       varchar2(200 char) not null,
            taken_at     timestamp          default sys_extract_utc(systimestamp) not null,
            lease_until  timestamp          not null
        )]');

    create_index('outbox_connection_slot_account_ix',
        'create index outbox_connection_slot_account_ix on outbox_connection_slot (account, lease_until)');

    -- Mail templates (Liquid), one row per name and locale; the row without a locale is the
    -- default (see sql/postgresql/01_tables.sql). The trigger below keeps changed_at / changed_by.
    -- The characters are listed, not ranges: those follow NLS_SORT.
    create_table('outbox_template', q'[
        create table outbox_template (
            id          number(19)          generated always as identity primary key,
            name        varchar2(100 char)  not null,
            locale      varchar2(35 char),
            subject     varchar2(2000 char) not null,
            text_body   clob,
            html_body   clob,
            created_at  timestamp           default sys_extract_utc(systimestamp) not null,
            created_by  varchar2(128 char)  default sys_context('userenv', 'session_user') not null,
            changed_at  timestamp           default sys_extract_utc(systimestamp) not null,
            changed_by  varchar2(128 char)  default sys_context('userenv', 'session_user') not null,
            constraint outbox_template_name_ck
                check (regexp_like(name, '^[0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_.-]{1,100}$')),
            constraint outbox_template_locale_ck
                check (regexp_like(locale, '^[ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz]{2,8}(-[0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz]{1,8}){0,3}$')),
            constraint outbox_template_body_ck check (text_body is not null or html_body is not null)
        )]');

    create_index('outbox_template_name_uq',
        q'[create unique index outbox_template_name_uq on outbox_template (name, nvl(locale, '-'))]');

    -- Pauses and the running workers (schema version 6): see sql/postgresql/01_tables.sql.
    create_table('outbox_pause', q'[
        create table outbox_pause (
            scope       varchar2(100 char) primary key,
            paused_by   varchar2(200 char) not null,
            paused_at   timestamp          default sys_extract_utc(systimestamp) not null,
            reason      varchar2(500 char),
            resumed_by  varchar2(200 char),
            resumed_at  timestamp,
            constraint outbox_pause_scope_ck
                check (scope = '*' or regexp_like(scope, '^[0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_.-]{1,100}$'))
        )]');

    create_table('outbox_worker', q'[
        create table outbox_worker (
            name          varchar2(200 char)  primary key,
            host          varchar2(200 char)  not null,
            pid           number(10)          not null,
            version       varchar2(100 char)  not null,
            poll_seconds  number(10)          not null,
            started_at    timestamp           not null,
            last_seen_at  timestamp           not null,
            last_pass_at  timestamp,
            last_result   varchar2(1000 char),
            paused        varchar2(1000 char),
            stopped_at    timestamp
        )]');

    -- Limits checked at enqueue, by OUTBOX_MAIL and by OutboxClient alike. Change them with
    -- UPDATE; running this script again keeps the values a DBA set.
    create_table('outbox_setting', q'[
        create table outbox_setting (
            name         varchar2(100 char)  primary key,
            value        varchar2(4000 char) not null,
            description  varchar2(4000 char)
        )]');
end;
/

create or replace trigger outbox_template_changed
    before update on outbox_template
    for each row
begin
    :new.changed_at := sys_extract_utc(systimestamp);
    :new.changed_by := sys_context('userenv', 'session_user');
end;
/

-- A DBA's limits stay as set. The schema version is written by 06_schema_version.sql, last.
merge into outbox_setting s
using (select 'max_message_bytes' as name, '0' as value,
              'Largest mail accepted at enqueue: bodies plus attachments, before encoding. 0 means no limit.' as description from dual
       union all
       select 'blocked_extensions', 'exe,dll,vbs,js',
              'Attachment file name extensions refused at enqueue, comma-separated (the defaults of SQL Server Database Mail).' from dual
       union all
       select 'max_recipients', '1000',
              'Most recipients (to, cc and bcc together) one mail may have; Exchange Online''s own limit. 0 means no limit.' from dual
       union all
       select 'max_address_chars', '500',
              'Longest address accepted at enqueue, display name included (an address itself is at most 254). 0 means no limit.' from dual
       union all
       select 'max_header_chars', '1000',
              'Longest header value accepted at enqueue: subject, attachment names, MIME types, content ids (a header line is at most 998). 0 means no limit.' from dual) d
   on (s.name = d.name)
 when not matched then insert (name, value, description) values (d.name, d.value, d.description)
/

commit
/
