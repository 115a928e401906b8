-- Outbox for Oracle, part 3: the package OUTBOX_MAIL, specification.
--
-- Run after 02_views.sql, as the owner. Safe to run again (CREATE OR REPLACE; OUTBOX_MAIL_SESSION
-- is created only when missing).
--
-- Three ways to enqueue, all inside the caller's transaction: nothing is sent unless the caller
-- commits, and a rollback takes the mail back with everything else.
--   1. UTL_MAIL's shape:  SEND / SEND_ATTACH_RAW / SEND_ATTACH_VARCHAR2, with UTL_MAIL's
--      parameter names, types, order and defaults: change UTL_MAIL. to OUTBOX_MAIL. and
--      nothing else. For attachments over 32 KB: SEND_ATTACH_BLOB / SEND_ATTACH_CLOB, the same
--      parameters with a BLOB / CLOB of any size (other names, not overloads: an untyped NULL
--      argument would match both a RAW and a BLOB overload, PLS-00307).
--   2. the builder:       CREATE_MAIL -> ADD_RECIPIENT / ADD_ATTACHMENT / SET_BODY (or SET_TEMPLATE) -> ENQUEUE
--   3. UTL_SMTP's shape:  OPEN_MAIL -> RCPT -> WRITE_DATA / WRITE_RAW_DATA -> CLOSE_MAIL
--   4. a template:        SEND_TEMPLATE, or SET_TEMPLATE in the builder
--
-- No network access happens here: no wallet, no ACL, no SMTP_OUT_SERVER. The worker (`outbox
-- run`) sends committed mail over TLS and writes the outcome to OUTBOX_MESSAGE / OUTBOX_ATTEMPT.
--
-- The package runs with its owner's rights (AUTHID DEFINER): a user granted only EXECUTE on it
-- (role OUTBOX_SENDER, see 05_roles.sql) can enqueue without any access to the tables.
--
-- Errors: bad input raises one of the codes below, with a message that starts with the
-- parameter's name, then the problem, then what to do, e.g.
--   ORA-20002: subject: must not contain a line break (CR or LF). Header values are single lines; remove the line breaks.
-- Catch them by code, or by the named exceptions declared here:
--   -20001  e_required        a required value is missing or empty (sender, recipients, attachment, content, data)
--   -20002  e_line_break      CR or LF in a header value (subject, replyto, file name, mime_type, ...)
--   -20003  e_bad_address     a malformed mail address
--   -20004  e_no_recipient    ENQUEUE / CLOSE_MAIL of a mail that has no recipient
--   -20005  e_bad_value       a value out of its range or form (priority, kind, mime_type, profile, idempotency_key, control characters in a file name,
--                             expires_at / expires_after, a header name or one the worker writes, headers over 4000 bytes)
--   -20006  e_blocked_file    an attachment whose file type is blocked (OUTBOX_SETTING 'blocked_extensions')
--   -20007  e_too_large       the mail is larger than OUTBOX_SETTING 'max_message_bytes', or has more recipients than 'max_recipients'
--   -20008  e_bad_mail_id     no mail of this user with that id, a mail of the other kind, one no longer a draft, or one another transaction is changing
--   -20009  e_no_template     SEND_TEMPLATE / SET_TEMPLATE naming a template that OUTBOX_TEMPLATE does not hold
-- A value longer than its column (subject 2000 characters, an address 1000, a file name 1000,
-- a MIME type or content id 400) raises -20005 naming the parameter, as does a header value longer
-- than OUTBOX_SETTING 'max_header_chars' or an address longer than 'max_address_chars'.
--
-- UTL_MAIL's own exceptions and constants are declared too, so code that names them compiles
-- behind the UTL_MAIL synonym (utl_mail_synonym.sql). OUTBOX_MAIL never raises them: bad input
-- raises the codes above (see docs/oracle.md, "Coming from UTL_MAIL").
--
-- Session state: the package keeps none (re-running these scripts does not break pooled
-- sessions with ORA-04068). LAST_MAIL_ID's value lives in OUTBOX_MAIL_SESSION, created here
-- only when missing and never replaced.

set define off
whenever sqlerror exit failure rollback

-- Created once, never replaced: replacing a package with a variable discards the variable in
-- every session that used it, and their next call fails once (ORA-04068).
declare
    v_count pls_integer;
begin
    select count(*) into v_count from user_objects where object_type = 'PACKAGE' and object_name = 'OUTBOX_MAIL_SESSION';
    if v_count = 0 then
        execute immediate q'[
            create package outbox_mail_session authid definer as
                last_id number;  -- the mail this session queued last, for OUTBOX_MAIL.LAST_MAIL_ID
            end outbox_mail_session;]';
    end if;
end;
/

create or replace package outbox_mail authid definer as

    -- UTL_MAIL's declarations (PL/SQL Packages and Types Reference, UTL_MAIL).
    invalid_argument         exception;  pragma exception_init(invalid_argument, -29261);
    invalid_priority         exception;  pragma exception_init(invalid_priority, -44101);
    invalid_argument_errcode constant pls_integer := -29261;
    invalid_priority_errcode constant pls_integer := -44101;

    e_required     exception;  pragma exception_init(e_required, -20001);
    e_line_break   exception;  pragma exception_init(e_line_break, -20002);
    e_bad_address  exception;  pragma exception_init(e_bad_address, -20003);
    e_no_recipient exception;  pragma exception_init(e_no_recipient, -20004);
    e_bad_value    exception;  pragma exception_init(e_bad_value, -20005);
    e_blocked_file exception;  pragma exception_init(e_blocked_file, -20006);
    e_too_large    exception;  pragma exception_init(e_too_large, -20007);
    e_bad_mail_id  exception;  pragma exception_init(e_bad_mail_id, -20008);
    e_no_template  exception;  pragma exception_init(e_no_template, -20009);

    ---------------------------------------------------------------------------------------------
    -- 1. UTL_MAIL's calls. recipients, cc and bcc are lists separated by commas (semicolons are
    --    accepted too); "Name <user@example.com>" is accepted wherever an address is. When
    --    mime_type is text/html the message is the HTML body. Bodies and text attachments are
    --    sent as UTF-8 whatever charset mime_type names. A NULL priority is the default, 3 (in
    --    UTL_MAIL it meant no X-Priority header). The new mail's id: LAST_MAIL_ID. Three parameters
    --    UTL_MAIL lacks come last, with defaults, so UTL_MAIL's calls compile unchanged:
    --    expires_at or expires_after (not sent after that time: the mail ends 'expired'; later
    --    than now, at most 366 days ahead), and headers (extra header lines, "Name: value" each,
    --    e.g. 'List-Unsubscribe: <https://example.com/u/42>'; not one the worker writes: From, To,
    --    Cc, Subject, Date, Message-ID, MIME-Version, Content-*, ...; 4000 bytes in all).
    ---------------------------------------------------------------------------------------------

    procedure send(
        sender      in varchar2,
        recipients  in varchar2,
        cc          in varchar2    default null,
        bcc         in varchar2    default null,
        subject     in varchar2    default null,
        message     in varchar2    default null,
        mime_type   in varchar2    default 'text/plain; charset=us-ascii',
        priority    in pls_integer default 3,
        replyto     in varchar2    default null,
        expires_at     in timestamp with time zone default null,
        expires_after  in interval day to second default null,
        headers        in varchar2    default null);

    procedure send_attach_raw(
        sender         in varchar2,
        recipients     in varchar2,
        cc             in varchar2    default null,
        bcc            in varchar2    default null,
        subject        in varchar2    default null,
        message        in varchar2    default null,
        mime_type      in varchar2    default 'text/plain; charset=us-ascii',
        priority       in pls_integer default 3,
        attachment     in raw,
        att_inline     in boolean     default true,
        att_mime_type  in varchar2    default 'application/octet',
        att_filename   in varchar2    default null,
        replyto        in varchar2    default null,
        expires_at     in timestamp with time zone default null,
        expires_after  in interval day to second default null,
        headers        in varchar2    default null);

    -- SEND_ATTACH_RAW with a BLOB: an attachment of any size.
    procedure send_attach_blob(
        sender         in varchar2,
        recipients     in varchar2,
        cc             in varchar2    default null,
        bcc            in varchar2    default null,
        subject        in varchar2    default null,
        message        in varchar2    default null,
        mime_type      in varchar2    default 'text/plain; charset=us-ascii',
        priority       in pls_integer default 3,
        attachment     in blob,
        att_inline     in boolean     default true,
        att_mime_type  in varchar2    default 'application/octet',
        att_filename   in varchar2    default null,
        replyto        in varchar2    default null,
        expires_at     in timestamp with time zone default null,
        expires_after  in interval day to second default null,
        headers        in varchar2    default null);

    procedure send_attach_varchar2(
        sender         in varchar2,
        recipients     in varchar2,
        cc             in varchar2    default null,
        bcc            in varchar2    default null,
        subject        in varchar2    default null,
        message        in varchar2    default null,
        mime_type      in varchar2    default 'text/plain; charset=us-ascii',
        priority       in pls_integer default 3,
        attachment     in varchar2,
        att_inline     in boolean     default true,
        att_mime_type  in varchar2    default 'text/plain; charset=us-ascii',
        att_filename   in varchar2    default null,
        replyto        in varchar2    default null,
        expires_at     in timestamp with time zone default null,
        expires_after  in interval day to second default null,
        headers        in varchar2    default null);

    -- SEND_ATTACH_VARCHAR2 with a CLOB: a text attachment of any size.
    procedure send_attach_clob(
        sender         in varchar2,
        recipients     in varchar2,
        cc             in varchar2    default null,
        bcc            in varchar2    default null,
        subject        in varchar2    default null,
        message        in varchar2    default null,
        mime_type      in varchar2    default 'text/plain; charset=us-ascii',
        priority       in pls_integer default 3,
        attachment     in clob,
        att_inline     in boolean     default true,
        att_mime_type  in varchar2    default 'text/plain; charset=us-ascii',
        att_filename   in varchar2    default null,
        replyto        in varchar2    default null,
        expires_at     in timestamp with time zone default null,
        expires_after  in interval day to second default null,
        headers        in varchar2    default null);

    ---------------------------------------------------------------------------------------------
    -- 2. The builder, for what UTL_MAIL cannot do: several attachments of any size, text + HTML
    --    bodies, inline images (content_id), a send-after time, an idempotency key. The mail is
    --    a draft, never sent, until ENQUEUE. A key seen before returns the mail it made, and the
    --    calls that follow on that mail do nothing: a replayed block enqueues once. profile
    --    names the worker's Outbox:Profiles entry to send through (null: chosen by the sender's
    --    domain, else "default").
    ---------------------------------------------------------------------------------------------

    function create_mail(
        sender           in varchar2,
        subject          in varchar2    default null,
        text_body        in clob        default null,
        html_body        in clob        default null,
        replyto          in varchar2    default null,
        priority         in pls_integer default 3,
        send_after       in timestamp with time zone default null,
        idempotency_key  in varchar2    default null,
        profile          in varchar2    default null,
        expires_at       in timestamp with time zone default null,
        expires_after    in interval day to second default null,
        headers          in varchar2    default null) return number;

    -- One more extra header for a draft (see section 1 for what is refused).
    procedure add_header(
        mail_id  in number,
        name     in varchar2,
        value    in varchar2);

    -- kind: 'to', 'cc' or 'bcc'. recipient may hold several addresses separated by commas.
    procedure add_recipient(
        mail_id    in number,
        recipient  in varchar2,
        kind       in varchar2 default 'to');

    procedure set_body(
        mail_id    in number,
        text_body  in clob,
        html_body  in clob default null);

    -- content_id makes the part inline in a multipart/related body: reference it from the HTML
    -- as <img src="cid:CONTENT_ID">.
    procedure add_attachment(
        mail_id     in number,
        filename    in varchar2,
        content     in blob,
        mime_type   in varchar2 default 'application/octet-stream',
        content_id  in varchar2 default null,
        inline      in boolean  default false);

    -- An attachment in pieces, for callers that hold no BLOB (OutboxClient over ODP.NET, or code
    -- that has the bytes as RAW chunks): OPEN_ATTACHMENT adds it empty, with the same checks as
    -- ADD_ATTACHMENT, and returns its id; each WRITE_ATTACHMENT appends at most 32767 bytes. The
    -- mail's size limit is checked as the bytes arrive.
    function open_attachment(
        mail_id     in number,
        filename    in varchar2,
        mime_type   in varchar2 default 'application/octet-stream',
        content_id  in varchar2 default null,
        inline      in boolean  default false) return number;

    procedure write_attachment(attachment_id in number, data in raw);

    procedure enqueue(mail_id in number);

    ---------------------------------------------------------------------------------------------
    -- 3. UTL_SMTP's shape, for procedures that write their own headers and MIME body:
    --      open_connection + helo + mail  ->  l_id := OPEN_MAIL(sender)
    --      rcpt                           ->  RCPT(l_id, recipient)
    --      write_data / write_raw_data    ->  WRITE_DATA(l_id, text) / WRITE_RAW_DATA(l_id, raw)
    --      close_data + quit              ->  CLOSE_MAIL(l_id)
    --    The worker sends the text as written to the RCPT addresses, adding only a Date and a
    --    Message-ID header when the text has none. TLS and AUTH are the worker's job.
    ---------------------------------------------------------------------------------------------

    -- expires_at / expires_after: not sent after that time (the mail ends 'expired').
    function open_mail(
        sender         in varchar2,
        expires_at     in timestamp with time zone default null,
        expires_after  in interval day to second default null) return number;

    procedure rcpt(mail_id in number, recipient in varchar2);

    procedure write_data(mail_id in number, data in varchar2);

    procedure write_raw_data(mail_id in number, data in raw);

    procedure close_mail(mail_id in number);

    ---------------------------------------------------------------------------------------------
    -- 4. Templates (OUTBOX_TEMPLATE, Liquid): HTML mail without building strings. data is a JSON
    --    object, as a CLOB or a VARCHAR2 (a VARCHAR2 argument is taken as a CLOB), of at most
    --    262144 bytes. The template is looked up here, in the caller's transaction: an unknown
    --    name raises -20009. The mail keeps a copy of the template's subject and bodies as they
    --    are now; the worker renders them with the data when it sends, so a template changed later
    --    changes only mails enqueued later. A mail whose data lacks a variable the template uses
    --    ends 'failed' with a reason naming the template, the line and the variable. locale picks
    --    the template's row of that locale, else of its language ('de' for 'de-CH'), else the row
    --    without a locale. SET_TEMPLATE replaces the draft's subject and bodies; SET_BODY on such
    --    a draft raises -20008. See docs/templates.md.
    ---------------------------------------------------------------------------------------------

    procedure send_template(
        sender           in varchar2,
        recipients       in varchar2,
        template         in varchar2,
        data             in clob        default '{}',
        cc               in varchar2    default null,
        bcc              in varchar2    default null,
        replyto          in varchar2    default null,
        locale           in varchar2    default null,
        priority         in pls_integer default 3,
        send_after       in timestamp with time zone default null,
        idempotency_key  in varchar2    default null,
        profile          in varchar2    default null,
        expires_at       in timestamp with time zone default null,
        expires_after    in interval day to second default null,
        headers          in varchar2    default null);

    procedure set_template(
        mail_id   in number,
        template  in varchar2,
        data      in clob     default '{}',
        locale    in varchar2 default null);

    -- The id of the mail this session queued last (SEND*, ENQUEUE, CLOSE_MAIL or SEND_TEMPLATE), or null.
    function last_mail_id return number;

    -- What became of the caller's own mail: only mails this user made (created_by = the session
    -- user); another user's id opens an empty cursor, as a missing id does. No bodies or
    -- attachments. MAIL_STATUS: id, status, created_at, queued_at, sent_at, attempt_count,
    -- last_attempt_at, smtp_code, smtp_reply, last_error, expires_at. MAIL_RECIPIENTS: kind, address, status
    -- (accepted, deferred, rejected, or null: not tried yet), smtp_reply.
    --   declare c sys_refcursor; begin c := outbox_mail.mail_status(outbox_mail.last_mail_id); ... end;
    function mail_status(mail_id in number) return sys_refcursor;
    function mail_recipients(mail_id in number) return sys_refcursor;

end outbox_mail;
/

show errors package outbox_mail
