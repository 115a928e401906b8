-- Outbox for PostgreSQL, part 3 of 3: roles and privileges.
--
-- Run after 02_api.sql, as a role that may create roles (roles are cluster-wide):
--   psql -v ON_ERROR_STOP=1 -d yourdb -f sql/postgresql/03_roles.sql
-- Safe to run more than once: roles are created only when missing, grants are idempotent.
--
--   outbox_sender  may only call the outbox_mail functions: no access to the tables.
--                  For application and trigger code that enqueues mail, and for .NET code
--                  that enqueues with OutboxClient (it calls the same functions).
--   outbox_worker  reads and updates the tables: for the worker (outbox run) and the CLI; it
--                  holds outbox_sender too, for `outbox send`. It alone may call outbox.pause
--                  and outbox.resume.
--   outbox_reader  reads the tables, every application's mail: for DBAs, monitoring and
--                  `outbox status / list / show`.
--
-- Give them to login roles with, for example:
--   grant outbox_sender to app_user;
--   grant outbox_worker to outbox_service;

do $$
declare
    role_name text;
begin
    foreach role_name in array array['outbox_sender', 'outbox_worker', 'outbox_reader'] loop
        if not exists (select 1 from pg_roles where rolname = role_name) then
            begin
                execute format('create role %I nologin', role_name);
            exception when duplicate_object or unique_violation then
                null;  -- created meanwhile by an install into another database of this cluster
            end;
        end if;
    end loop;
end $$;

-- Functions are executable by PUBLIC unless revoked: only outbox_sender may enqueue, and no one
-- but the owner may call the helpers in schema outbox.
revoke all on all functions in schema outbox_mail from public;
revoke all on all functions in schema outbox from public;

grant usage on schema outbox_mail to outbox_sender;
grant execute on all functions in schema outbox_mail to outbox_sender;

grant usage on schema outbox to outbox_worker, outbox_reader;
grant select, insert, update, delete on all tables in schema outbox to outbox_worker;
-- Pausing and resuming sending is an operator's, never an application's (outbox_sender's).
grant execute on function outbox.pause(text, text), outbox.resume(text) to outbox_worker;
grant select on all tables in schema outbox to outbox_reader;
-- `outbox send` enqueues through OutboxClient, which calls outbox_mail. Granted only when
-- missing: granting a role takes CREATEROLE or its admin option even when nothing changes, so
-- the owner without CREATEROLE can run these scripts again once a superuser has granted it.
do $$
begin
    if not pg_catalog.pg_has_role('outbox_worker', 'outbox_sender', 'MEMBER') then
        grant outbox_sender to outbox_worker;
    end if;
end $$;
