-- Optional: lets a schema keep calling UTL_MAIL.SEND(...) unchanged, and have the mail go
-- through the outbox. Run as the schema whose code calls UTL_MAIL (it needs CREATE SYNONYM and
-- the direct EXECUTE grant that grant_to_user.sql makes for OUTBOX_SENDER), naming the owner:
--
--   sql app_user@//dbhost:1521/FREEPDB1 @utl_mail_synonym.sql OUTBOX
--
-- It creates the private synonym UTL_MAIL for OUTBOX.OUTBOX_MAIL. Inside this schema an
-- unqualified UTL_MAIL then means the outbox: a private synonym is found before the public
-- synonym of SYS.UTL_MAIL, and Oracle recompiles the procedures that used the old one.
--
-- Limits:
--   - calls written as SYS.UTL_MAIL.SEND(...) still go to Oracle's UTL_MAIL;
--   - only SEND, SEND_ATTACH_RAW and SEND_ATTACH_VARCHAR2 exist in both packages; the mail is
--     sent when the transaction commits (UTL_MAIL sent it at once, even if the caller rolled
--     back), so code that called UTL_MAIL and then rolled back on purpose now sends nothing;
--   - the SMTP_OUT_SERVER parameter no longer matters: the worker's configuration does;
--   - other schemas are not affected. Undo with: drop synonym utl_mail;

-- install.sql's parts set DEFINE OFF: in the same session the arguments would not be substituted.
set define on
whenever sqlerror exit failure rollback

define outbox_owner = &1

create or replace synonym utl_mail for &outbox_owner..outbox_mail
/

undefine outbox_owner
