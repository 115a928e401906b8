-- Outbox for Oracle, part 5: roles and their privileges.
--
-- Run after 04_outbox_mail_body.sql, as the owner (who needs the CREATE ROLE privilege; the
-- creator of a role may grant it on). Safe to run again: a role that exists is kept, grants
-- are idempotent.
--
--   OUTBOX_SENDER  may only execute OUTBOX_MAIL: no access to the tables.
--                  For application and trigger code that enqueues mail.
--   OUTBOX_WORKER  reads and changes the tables: for the worker (`outbox run`), the CLI and .NET
--                  code that enqueues with OutboxClient (it writes the tables directly). It
--                  alone may execute OUTBOX_CONTROL (pause and resume sending).
--   OUTBOX_READER  reads the tables and views: for DBAs, monitoring, `outbox status / list / show`.
--                  READ, not SELECT: SELECT would also allow SELECT ... FOR UPDATE, which locks
--                  the rows the worker claims.
--
-- The roles are database-wide (one set per PDB): one outbox owner per PDB (see docs/oracle.md).
-- The table list is every table 01_tables.sql creates; a test keeps the two in step.
--
-- Give them to users with grant_to_user.sql, which also makes the direct grant that PL/SQL
-- needs (see there).

set define off
whenever sqlerror exit failure rollback

declare
    procedure create_role(p_role varchar2) is
        e_role_exists exception;
        pragma exception_init(e_role_exists, -1921);
    begin
        execute immediate 'create role ' || p_role;
    exception
        when e_role_exists then
            null;
    end create_role;

    procedure grant_on_tables(p_privileges varchar2, p_role varchar2) is
    begin
        for t in (select table_name from user_tables
                   where table_name in ('OUTBOX_MESSAGE', 'OUTBOX_RECIPIENT', 'OUTBOX_ATTACHMENT',
                                        'OUTBOX_RAW_PART', 'OUTBOX_ATTEMPT', 'OUTBOX_SETTING',
                                        'OUTBOX_RATE_ACCOUNT', 'OUTBOX_RATE_SLOT', 'OUTBOX_CONNECTION_SLOT', 'OUTBOX_TEMPLATE',
                                        'OUTBOX_PAUSE', 'OUTBOX_WORKER')) loop
            execute immediate 'grant ' || p_privileges || ' on ' || t.table_name || ' to ' || p_role;
        end loop;
    end grant_on_tables;
begin
    create_role('outbox_sender');
    create_role('outbox_worker');
    create_role('outbox_reader');

    execute immediate 'grant execute on outbox_mail to outbox_sender';
    -- Pausing and resuming sending is an operator's, never an application's.
    execute immediate 'grant execute on outbox_control to outbox_worker';

    grant_on_tables('select, insert, update, delete', 'outbox_worker');
    execute immediate 'grant select on outbox_queue_summary to outbox_worker';
    execute immediate 'grant select on outbox_failed to outbox_worker';

    grant_on_tables('read', 'outbox_reader');
    execute immediate 'grant read on outbox_queue_summary to outbox_reader';
    execute immediate 'grant read on outbox_failed to outbox_reader';
end;
/
