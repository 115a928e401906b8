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
-- Roles belong to the cluster, schemas to one database: a role that could use the schemas
-- would let a login granted outbox_sender for one database send through the outbox of every
-- other database of the cluster. So the roles carry the privileges on the objects, and each
-- database lets in its own logins with a grant on its schemas (the second key):
--   grant outbox_sender to app_user;
--   grant usage on schema outbox_mail to app_user;
--   grant outbox_worker to outbox_service;
--   grant usage on schema outbox, outbox_mail to outbox_service;
--   grant outbox_reader to monitoring;
--   grant usage on schema outbox to monitoring;

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

grant execute on all functions in schema outbox_mail to outbox_sender;

-- Before schema version 7 the roles themselves held USAGE on the schemas. Their members keep
-- it as logins of this database (who of them belongs to another database cannot be told: review
-- them with the query in sql/README.md), then the roles give it up. A worker's login gets
-- outbox_mail too (outbox_worker holds outbox_sender); the outbox roles themselves never do.
do $$
declare
    g record;
    member_name text;
begin
    for g in
        select r.rolname as role_name, n.nspname as schema_name
          from pg_catalog.pg_namespace n
         cross join lateral pg_catalog.aclexplode(n.nspacl) a
          join pg_catalog.pg_roles r on r.oid = a.grantee
         where n.nspname in ('outbox', 'outbox_mail') and a.privilege_type = 'USAGE'
           and r.rolname in ('outbox_sender', 'outbox_worker', 'outbox_reader')
    loop
        for member_name in
            select m.rolname from pg_catalog.pg_roles m
             where m.rolname not in ('outbox_sender', 'outbox_worker', 'outbox_reader')
               and exists (select 1 from pg_catalog.pg_auth_members am join pg_catalog.pg_roles r on r.oid = am.roleid
                            where am.member = m.oid and r.rolname in ('outbox_sender', 'outbox_worker', 'outbox_reader'))
               and pg_catalog.pg_has_role(m.oid, g.role_name, 'MEMBER')
        loop
            raise notice 'outbox roles: % keeps usage on schema % (it held %; revoke it if it belongs to another database)', member_name, g.schema_name, g.role_name;
            execute format('grant usage on schema %I to %I', g.schema_name, member_name);
        end loop;
        execute format('revoke usage on schema %I from %I', g.schema_name, g.role_name);
    end loop;
end $$;

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
