-- Outbox for Oracle: installs every part, in order, into the schema you connect to.
--
--   cd sql/oracle
--   sql outbox@//dbhost:1521/FREEPDB1 @install.sql          (SQLcl; or sqlplus the same way)
--
-- The schema version is written last (06), once the package compiled: an install that stops
-- before it leaves the version of the last complete one.
-- The owner needs CREATE SESSION, CREATE TABLE, CREATE VIEW, CREATE PROCEDURE, CREATE ROLE
-- and a quota on its tablespace. Safe to run again. Then give the roles to users with
-- grant_to_user.sql. The same files can be run one by one; `outbox init` runs them too.

whenever sqlerror exit failure rollback

@@01_tables.sql
@@02_views.sql
@@03_outbox_mail_spec.sql
@@04_outbox_mail_body.sql
@@05_roles.sql
@@06_schema_version.sql
