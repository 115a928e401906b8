-- Removes the outbox from the schema you connect to: the packages, the views, every table
-- 01_tables.sql creates with every mail in it, and the three roles (database-wide: another
-- outbox owner in the same PDB loses them too, see docs/oracle.md). Safe to run again: what is
-- not there is skipped. A test checks that it drops every object the install scripts create. Run as the owner. There is no undo: back up first.
--
--   sql outbox@//dbhost:1521/FREEPDB1 @uninstall.sql

whenever sqlerror exit failure rollback

declare
    procedure drop_if_there(p_type varchar2, p_name varchar2, p_ddl varchar2) is
        v_count pls_integer;
    begin
        select count(*) into v_count from user_objects where object_type = p_type and object_name = upper(p_name);
        if v_count > 0 then
            execute immediate p_ddl;
        end if;
    end drop_if_there;

    procedure drop_role(p_role varchar2) is
        e_no_role exception;
        pragma exception_init(e_no_role, -1919);
    begin
        execute immediate 'drop role ' || p_role;
    exception
        when e_no_role then
            null;
    end drop_role;
begin
    drop_if_there('PACKAGE', 'outbox_control', 'drop package outbox_control');
    drop_if_there('PACKAGE', 'outbox_mail', 'drop package outbox_mail');
    drop_if_there('PACKAGE', 'outbox_mail_session', 'drop package outbox_mail_session');
    drop_if_there('VIEW', 'outbox_queue_summary', 'drop view outbox_queue_summary');
    drop_if_there('VIEW', 'outbox_failed', 'drop view outbox_failed');
    drop_if_there('TABLE', 'outbox_attempt', 'drop table outbox_attempt purge');
    drop_if_there('TABLE', 'outbox_raw_part', 'drop table outbox_raw_part purge');
    drop_if_there('TABLE', 'outbox_attachment', 'drop table outbox_attachment purge');
    drop_if_there('TABLE', 'outbox_recipient', 'drop table outbox_recipient purge');
    drop_if_there('TABLE', 'outbox_message', 'drop table outbox_message purge');
    drop_if_there('TABLE', 'outbox_setting', 'drop table outbox_setting purge');
    drop_if_there('TABLE', 'outbox_pause', 'drop table outbox_pause purge');
    drop_if_there('TABLE', 'outbox_worker', 'drop table outbox_worker purge');
    drop_if_there('TABLE', 'outbox_template', 'drop table outbox_template purge');
    drop_if_there('TABLE', 'outbox_connection_slot', 'drop table outbox_connection_slot purge');
    drop_if_there('TABLE', 'outbox_rate_slot', 'drop table outbox_rate_slot purge');
    drop_if_there('TABLE', 'outbox_rate_account', 'drop table outbox_rate_account purge');
    drop_role('outbox_sender');
    drop_role('outbox_worker');
    drop_role('outbox_reader');
end;
/
