-- Gives one of the outbox roles to a user. Run as the outbox owner:
--
--   sql outbox@//dbhost:1521/FREEPDB1 @grant_to_user.sql APP_USER OUTBOX_SENDER
--   sql outbox@//dbhost:1521/FREEPDB1 @grant_to_user.sql OUTBOX_SERVICE OUTBOX_WORKER
--
-- Roles are switched off inside definer's-rights PL/SQL, so a stored procedure of APP_USER that
-- calls OUTBOX_MAIL compiles only with EXECUTE granted to APP_USER itself: for OUTBOX_SENDER
-- this script makes that direct grant as well. The user then calls OUTBOX.OUTBOX_MAIL.SEND(...)
-- (owner-qualified), or creates a synonym (see utl_mail_synonym.sql).

-- install.sql's parts set DEFINE OFF: in the same session the arguments would not be substituted.
set define on
whenever sqlerror exit failure rollback

define grantee = &1
define outbox_role = &2

declare
    v_role    varchar2(128) := upper(dbms_assert.simple_sql_name('&outbox_role'));
    v_grantee varchar2(128) := dbms_assert.simple_sql_name('&grantee');
begin
    if v_role not in ('OUTBOX_SENDER', 'OUTBOX_WORKER', 'OUTBOX_READER') then
        raise_application_error(-20000, 'role: must be OUTBOX_SENDER, OUTBOX_WORKER or OUTBOX_READER, got ' || v_role || '.');
    end if;
    execute immediate 'grant ' || v_role || ' to ' || v_grantee;
    if v_role = 'OUTBOX_SENDER' then
        execute immediate 'grant execute on outbox_mail to ' || v_grantee;
    end if;
end;
/

undefine grantee
undefine outbox_role
