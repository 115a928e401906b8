-- Outbox for Oracle, part 6: the schema version, written last.
--
-- Run after 05_roles.sql, as the owner. Safe to run again. The worker, `outbox init` and
-- `outbox check db` take the schema as installed when OUTBOX_SETTING holds the version this
-- release expects. It is written here, after every other part ran and only when OUTBOX_MAIL
-- (specification and body) compiled without errors, so an install that stopped on the way is
-- not taken for a finished one: the worker then refuses to start, naming the version it found.

set define off
whenever sqlerror exit failure rollback

begin
    for e in (select e.name, e.type, e.line, e.text from user_errors e
               where e.name in ('OUTBOX_MAIL', 'OUTBOX_MAIL_SESSION', 'OUTBOX_CONTROL') and e.attribute = 'ERROR'
               order by e.name, e.type, e.sequence
               fetch first 1 rows only) loop
        raise_application_error(-20000, e.name || ' ' || lower(e.type) || ' line ' || e.line || ': '
            || substr(e.text, 1, 500) || ' - the outbox is not installed: see select * from user_errors where name like ''OUTBOX%''.');
    end loop;

    merge into outbox_setting s
    using (select 'schema_version' as name, '7' as value,
                  'The version of the outbox schema the install scripts made; `outbox check db` compares it with the version the program expects.' as description
             from dual) d
       on (s.name = d.name)
     when matched then update set s.value = d.value
     when not matched then insert (name, value, description) values (d.name, d.value, d.description);

    -- The database this outbox was installed in. A clone (a PDB cloned, RMAN DUPLICATE, a Data
    -- Pump import elsewhere) reads another identity, and its worker sends nothing until an
    -- operator adopts it with `outbox adopt`. Never overwritten here: running the scripts on a
    -- copy must not adopt it. The expression is the worker's (OracleDialect.IdentityExpression).
    merge into outbox_setting s
    using (select 'database_identity' as name,
                  'Oracle DBID ' || sys_context('userenv', 'con_dbid') || ', container ' || sys_context('userenv', 'con_name') as value,
                  'The database the outbox was installed in or last adopted in; a worker in another (a copy) sends nothing until `outbox adopt`.' as description
             from dual) d
       on (s.name = d.name)
     when not matched then insert (name, value, description) values (d.name, d.value, d.description);
    commit;
end;
/
