-- Outbox for Oracle, part 4: the package OUTBOX_MAIL, body; then OUTBOX_CONTROL, the
-- operators' pause and resume.
--
-- Run after 03_outbox_mail_spec.sql, as the owner. Safe to run again (CREATE OR REPLACE).
-- The rules are those of sql/postgresql/02_api.sql and of Outbox.Core's MailAddressRules, so
-- every way of enqueuing accepts and refuses the same input. The public procedures only pass
-- their arguments on to the private helpers (p_ parameters), so no SQL here can mistake a
-- parameter such as "content" or "kind" for the column of the same name.

set define off
whenever sqlerror exit failure rollback

create or replace package body outbox_mail as

    -- No package-level variables here: see OUTBOX_MAIL_SESSION in 03_outbox_mail_spec.sql.

    procedure fail(p_code pls_integer, p_param varchar2, p_problem varchar2, p_hint varchar2) is
    begin
        raise_application_error(p_code, p_param || ': ' || p_problem || '. ' || p_hint);
    end fail;

    -- Oracle's column sizes, which PostgreSQL's text columns do not have: a longer value would
    -- otherwise fail with ORA-12899 or ORA-06502 instead of naming the parameter. In bytes: a
    -- column of N CHAR holds N characters but never more than 4000 bytes (OutboxClient counts
    -- the same bytes in UTF-8, with the same limits).
    procedure check_length(p_param varchar2, p_value varchar2, p_max pls_integer, p_hint varchar2) is
    begin
        if lengthb(p_value) > p_max then
            fail(-20005, p_param, 'is ' || lengthb(p_value) || ' bytes, more than the ' || p_max || ' allowed', p_hint);
        end if;
    end check_length;

    -- A limit from OUTBOX_SETTING, 0 (no limit) when it is absent or 0. The limits bound what one
    -- caller can store, so that every page, download and render of a mail is bounded too.
    function setting_limit(p_name varchar2) return number is
        v_limit number;
    begin
        select max(to_number(s.value)) into v_limit from outbox_setting s where s.name = p_name;
        return nvl(v_limit, 0);
    end setting_limit;

    procedure check_setting_length(p_param varchar2, p_value varchar2, p_setting varchar2, p_what varchar2) is
        v_limit number := setting_limit(p_setting);
    begin
        if v_limit > 0 and length(p_value) > v_limit then
            fail(-20005, p_param, 'is ' || length(p_value) || ' characters, more than the ' || v_limit || ' allowed for ' || p_what,
                'The limit is OUTBOX_SETTING, name ''' || p_setting || '''.');
        end if;
    end check_setting_length;

    -- Refuses more recipients for one mail than OUTBOX_SETTING 'max_recipients'.
    procedure check_recipient_count(p_param varchar2, p_count number) is
        v_limit number := setting_limit('max_recipients');
    begin
        if v_limit > 0 and p_count > v_limit then
            fail(-20007, p_param, 'the mail would have ' || p_count || ' recipients, more than the ' || v_limit || ' allowed',
                'The limit is OUTBOX_SETTING, name ''max_recipients''; send one mail per group of recipients.');
        end if;
    end check_recipient_count;

    procedure check_stored_recipients(p_param varchar2, p_id number) is
        v_count number;
    begin
        select count(*) into v_count from outbox_recipient r where r.message_id = p_id;
        check_recipient_count(p_param, v_count);
    end check_stored_recipients;

    -- A header value must be one line: a CR or LF would let the value start a header of its own.
    -- Its length is bounded by OUTBOX_SETTING 'max_header_chars'.
    procedure check_header(p_param varchar2, p_value varchar2) is
    begin
        if instr(p_value, chr(13)) > 0 or instr(p_value, chr(10)) > 0 then
            fail(-20002, p_param, 'must not contain a line break (CR or LF)', 'Header values are single lines; remove the line breaks.');
        end if;
        check_setting_length(p_param, p_value, 'max_header_chars', 'a header value');
    end check_header;

    -- Accepts "user@example.com" or "Display Name <user@example.com>"; returns it trimmed.
    function check_address(p_param varchar2, p_value varchar2) return varchar2 is
        -- What may not appear in an address outside quotes: blanks and the specials of RFC 5322.
        c_forbidden constant varchar2(20) := ' ()<>,;:"[]\' || chr(9) || chr(11) || chr(12);
        v_trimmed   varchar2(32767) := trim(p_value);
        v_address   varchar2(32767);
        v_domain    varchar2(32767);
        v_name      varchar2(32767);
        v_at        pls_integer;
        v_valid     boolean;
    begin
        check_setting_length(p_param, v_trimmed, 'max_address_chars', 'an address');
        check_header(p_param, p_value);
        if v_trimmed is null then
            fail(-20001, p_param, 'is empty', 'Pass an address such as user@example.com.');
        end if;
        check_length(p_param, v_trimmed, 1000, 'An address holds at most 1000 characters; check the value.');
        if regexp_like(v_trimmed, '^[^<>]*<[^<>]*>$') then
            v_address := regexp_substr(v_trimmed, '<([^<>]*)>$', 1, 1, null, 1);
            -- The display name, outside its quoted parts, holds none of the specials that would
            -- make the value a group ("team: a@x;") or a second address.
            v_name := regexp_replace(substr(v_trimmed, 1, instr(v_trimmed, '<') - 1), '"[^"]*"');
        else
            v_address := v_trimmed;
        end if;
        v_at := nvl(instr(v_address, '@'), 0);
        v_domain := substr(v_address, v_at + 1);
        v_valid := v_at > 1
            and instr(v_address, '@', v_at + 1) = 0
            and v_domain is not null
            and nvl(length(translate(v_address, 'x' || c_forbidden, 'x')), 0) = length(v_address)
            and substr(v_domain, 1, 1) <> '.'
            and substr(v_domain, -1) <> '.'
            and instr(v_domain, '..') = 0
            and nvl(length(translate(v_name, 'x():;@"[]\', 'x')), 0) = nvl(length(v_name), 0);
        if not nvl(v_valid, false) then
            fail(-20003, p_param, '"' || v_trimmed || '" is not a valid mail address',
                'Write it as user@example.com or "Name <user@example.com>".');
        end if;
        return v_trimmed;
    end check_address;

    -- UTL_MAIL takes recipient lists as one string separated by commas; semicolons are accepted
    -- too. A separator inside double quotes ("Doe, Jane" <jane@example.com>) does not split.
    function split_addresses(p_param varchar2, p_list varchar2) return sys.odcivarchar2list is
        v_result sys.odcivarchar2list := sys.odcivarchar2list();
        v_part   varchar2(32767);
        v_char   varchar2(4 char);
        v_quoted boolean := false;
        v_limit  number := setting_limit('max_recipients');

        procedure take_part is
        begin
            if trim(v_part) is not null then
                -- Counted as the list is split, so a list of a million addresses stops at the limit.
                if v_limit > 0 and v_result.count >= v_limit then
                    check_recipient_count(p_param, v_result.count + 1);
                end if;
                v_result.extend;
                v_result(v_result.count) := check_address(p_param, v_part);
            end if;
            v_part := null;
        end take_part;
    begin
        for i in 1 .. nvl(length(p_list), 0) loop
            v_char := substr(p_list, i, 1);
            if v_char = '"' then
                v_quoted := not v_quoted;
            end if;
            if v_char in (',', ';') and not v_quoted then
                take_part;
            else
                v_part := v_part || v_char;
            end if;
        end loop;
        take_part;
        return v_result;
    end split_addresses;

    -- An attachment's name: one line without control characters, no folders (a path is cut to
    -- its last part, as mail programs would), and not of a blocked type (OUTBOX_SETTING
    -- 'blocked_extensions'). The type is judged as a mail program shows and saves the name: case
    -- ignored, trailing dots and spaces dropped, each part around a ":" on its own
    -- ("evil.exe::$DATA" is saved as evil.exe on NTFS). The rule of outbox.check_file_name.
    function check_file_name(p_param varchar2, p_value varchar2) return varchar2 is
        v_name      varchar2(32767) := trim(p_value);
        v_rest      varchar2(32767);
        v_colon     pls_integer;
        v_segment   varchar2(32767);
        v_extension varchar2(32767);
        v_blocked   varchar2(4000);
        v_controls  varchar2(40);
    begin
        check_header(p_param, p_value);
        for c in 1 .. 31 loop
            v_controls := v_controls || chr(c);
        end loop;
        v_controls := v_controls || chr(127);
        if nvl(length(translate(p_value, 'x' || v_controls, 'x')), 0) <> nvl(length(p_value), 0) then
            fail(-20005, p_param, 'must not contain control characters', 'Use a plain file name such as report.pdf.');
        end if;
        v_name := substr(v_name, greatest(nvl(instr(v_name, '/', -1), 0), nvl(instr(v_name, '\', -1), 0)) + 1);
        if v_name is null then
            return null;
        end if;
        check_length(p_param, v_name, 1000, 'Use a shorter file name.');
        select max(s.value) into v_blocked from outbox_setting s where s.name = 'blocked_extensions';
        v_blocked := ',' || lower(replace(replace(v_blocked, ' '), '.')) || ',';
        v_rest := v_name;
        loop
            v_colon := instr(v_rest, ':');
            v_segment := rtrim(case when v_colon > 0 then substr(v_rest, 1, v_colon - 1) else v_rest end, '. ');
            if instr(v_segment, '.') > 0 then
                v_extension := lower(substr(v_segment, instr(v_segment, '.', -1) + 1));
                if v_extension is not null and instr(v_blocked, ',' || v_extension || ',') > 0 then
                    fail(-20006, p_param, 'attachments named *.' || v_extension || ' are refused (' || v_name || ')',
                        'The blocked types are listed in OUTBOX_SETTING, name ''blocked_extensions''.');
                end if;
            end if;
            exit when v_colon = 0;
            v_rest := substr(v_rest, v_colon + 1);
        end loop;
        return v_name;
    end check_file_name;

    -- A MIME type the worker can parse, without a name or filename parameter: the pattern of
    -- outbox.check_mime_type and Outbox.Core's MimeTypeRules, character for character.
    procedure check_mime_type(p_param varchar2, p_value varchar2) is
    begin
        check_header(p_param, p_value);
        check_length(p_param, p_value, 400, 'Use the type without long parameters, e.g. application/pdf.');
        if not regexp_like(nvl(p_value, ' '), '^[0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$&^_.+-]+/[0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$&^_.+-]+( *; *[0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$&^_.+-]+ *= *([0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$&^_.+-]+|"[^"]*"))* *;? *$') then
            fail(-20005, p_param, '"' || p_value || '" is not a MIME type',
                'Write it as type/subtype with optional parameters, e.g. application/pdf or text/plain; charset=utf-8.');
        end if;
        if regexp_like(lower(p_value), '; *(file)?name *=') then
            fail(-20005, p_param, 'must not hold a name or filename parameter', 'Pass the file name as the filename argument.');
        end if;
    end check_mime_type;

    -- Text is stored and sent as UTF-8, whatever the database character set.
    function utf8_blob(p_text clob) return blob is
        v_blob     blob;
        v_dest     integer := 1;
        v_source   integer := 1;
        v_language integer := dbms_lob.default_lang_ctx;
        v_warning  integer;
    begin
        dbms_lob.createtemporary(v_blob, true);
        if nvl(dbms_lob.getlength(p_text), 0) > 0 then
            dbms_lob.converttoblob(v_blob, p_text, dbms_lob.lobmaxsize, v_dest, v_source,
                nls_charset_id('AL32UTF8'), v_language, v_warning);
        end if;
        return v_blob;
    end utf8_blob;

    -- A mail's expiry as stored (UTC): expires_at, or now plus expires_after; at most one of the
    -- two, later than now and than send_after, at most 366 days ahead (outbox.expiry, MailRequestValidator.CheckExpiry).
    function expiry(p_expires_at timestamp with time zone, p_expires_after interval day to second,
                    p_send_after timestamp with time zone) return timestamp is
        v_now   timestamp with time zone := systimestamp;
        v_at    timestamp with time zone;
        v_param varchar2(20) := case when p_expires_at is null then 'expires_after' else 'expires_at' end;
    begin
        if p_expires_at is null and p_expires_after is null then
            return null;
        end if;
        if p_expires_at is not null and p_expires_after is not null then
            fail(-20005, 'expires_after', 'was given with expires_at', 'Give one of the two.');
        end if;
        if p_expires_after is not null
           and (p_expires_after <= numtodsinterval(0, 'SECOND') or p_expires_after > numtodsinterval(366, 'DAY')) then
            fail(-20005, 'expires_after', 'must be more than 0 and at most 366 days, got ' || p_expires_after,
                'Give how long the mail stays worth sending, e.g. interval ''2'' hour.');
        end if;
        v_at := nvl(p_expires_at, v_now + p_expires_after);
        if p_expires_at is not null and (p_expires_at <= v_now or p_expires_at > v_now + numtodsinterval(366, 'DAY')) then
            fail(-20005, 'expires_at', 'must be later than now and at most 366 days ahead, got '
                    || to_char(sys_extract_utc(p_expires_at), 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                'Give a time when the mail stops being worth sending, or leave it out for a mail that never expires.');
        end if;
        if v_at <= p_send_after then
            fail(-20005, v_param, 'is not later than send_after (' || to_char(sys_extract_utc(p_send_after), 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ')',
                'A mail that expires before it may be sent would never go out; move one of the two.');
        end if;
        return sys_extract_utc(v_at);
    end expiry;

    -- One extra header as its stored line "Name: value" (outbox.check_header_line,
    -- MailHeaderRules): a name of 1 to 76 printable ASCII characters but ":" (listed, not a range:
    -- ranges follow NLS_SORT), none the worker writes itself, a value of one line without control
    -- characters, the line at most 998 characters.
    function check_header_line(p_name_param varchar2, p_value_param varchar2, p_name varchar2, p_value varchar2) return varchar2 is
        c_allowed constant varchar2(100) :=
            '!"#$%&''()*+,-./0123456789;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefghijklmnopqrstuvwxyz{|}~';
        v_value varchar2(32767) := rtrim(ltrim(p_value, ' ' || chr(9)), ' ' || chr(9));
        v_line  varchar2(32767);
    begin
        if p_name is null or length(p_name) > 76 or translate(p_name, chr(1) || c_allowed, chr(1)) is not null then
            fail(-20005, p_name_param, '"' || substr(translate(nvl(p_name, '(null)'), chr(9) || chr(10) || chr(13), '???'), 1, 80) || '" is not a header name',
                'Use 1 to 76 printable ASCII characters without spaces or a colon, e.g. List-Unsubscribe or X-Campaign.');
        end if;
        if lower(p_name) in ('from', 'sender', 'reply-to', 'to', 'cc', 'bcc', 'subject', 'date', 'message-id', 'mime-version',
                             'x-priority', 'return-path', 'received', 'dkim-signature')
           or lower(p_name) like 'content-%' or lower(p_name) like 'resent-%' then
            fail(-20005, p_name_param, p_name || ' is written by the worker',
                'Leave it out: From, To, Cc, Subject, Reply-To and the priority have their own parameters; Date, Message-ID, MIME-Version, Content-*, Resent-*, Received, Return-Path and DKIM-Signature are not the caller''s.');
        end if;
        if v_value is null then
            fail(-20001, p_value_param, p_name || ' has no value', 'Give it a value, or leave the header out.');
        end if;
        for i in 1 .. 31 loop
            if i <> 9 and instr(v_value, chr(i)) > 0 then
                fail(-20002, p_value_param, 'the value of ' || p_name || ' holds a line break or another control character',
                    'Header values are single lines of text; remove the line breaks.');
            end if;
        end loop;
        if instr(v_value, chr(127)) > 0 then
            fail(-20002, p_value_param, 'the value of ' || p_name || ' holds a line break or another control character',
                'Header values are single lines of text; remove the line breaks.');
        end if;
        v_line := p_name || ': ' || v_value;
        if length(v_line) > 998 then
            fail(-20005, p_value_param, p_name || ' is ' || length(v_line) || ' characters with its name, more than the 998 allowed',
                'Shorten its value.');
        end if;
        return v_line;
    end check_header_line;

    -- The stored headers of a mail take at most 4000 bytes (the column; the same bound everywhere).
    function check_headers_size(p_headers varchar2) return varchar2 is
    begin
        if lengthb(p_headers) > 4000 then
            fail(-20005, 'headers', 'are ' || lengthb(p_headers) || ' bytes in all, more than the 4000 allowed', 'Send fewer or shorter headers.');
        end if;
        return p_headers;
    end check_headers_size;

    -- Extra headers given as one text, a "Name: value" per line (LF or CRLF; empty lines are
    -- skipped), as stored: each line checked, joined by LF (outbox.check_headers). Null when none.
    function check_headers(p_headers varchar2) return varchar2 is
        v_rest   varchar2(32767) := replace(p_headers, chr(13) || chr(10), chr(10));
        v_line   varchar2(32767);
        v_result varchar2(32767);
        v_end    pls_integer;
        v_colon  pls_integer;
    begin
        while v_rest is not null loop
            v_end := instr(v_rest, chr(10));
            v_line := case when v_end = 0 then v_rest else substr(v_rest, 1, v_end - 1) end;
            v_rest := case when v_end = 0 then null else substr(v_rest, v_end + 1) end;
            if trim(v_line) is not null then
                v_colon := instr(v_line, ':');
                if v_colon = 0 then
                    fail(-20005, 'headers', '"' || substr(v_line, 1, 80) || '" is not a header',
                        'Write one header per line as Name: value, e.g. List-Unsubscribe: <https://example.com/u/42>.');
                end if;
                v_result := v_result || case when v_result is not null then chr(10) end
                    || check_header_line('headers', 'headers', trim(substr(v_line, 1, v_colon - 1)), substr(v_line, v_colon + 1));
                v_result := check_headers_size(v_result);
            end if;
        end loop;
        return v_result;
    end check_headers;

    function new_message(
        p_kind varchar2, p_sender varchar2, p_subject varchar2, p_text_body clob, p_html_body clob,
        p_replyto varchar2, p_priority pls_integer, p_send_after timestamp with time zone, p_idempotency_key varchar2,
        p_profile varchar2 default null, p_expires_at timestamp default null, p_headers varchar2 default null)
        return number
    is
        v_sender  varchar2(32767);
        v_replyto varchar2(32767);
        v_address varchar2(32767);
        v_domain  varchar2(255 char);
        v_id      number;
    begin
        if trim(p_sender) is null then
            fail(-20001, 'sender', 'is required', 'Pass the From address, e.g. sender => ''app@example.com''.');
        end if;
        v_sender := check_address('sender', p_sender);
        if p_replyto is not null then
            v_replyto := check_address('replyto', p_replyto);
        end if;
        check_header('subject', p_subject);
        check_length('subject', p_subject, 2000, 'Shorten the subject; put the details in the message.');
        if p_priority not between 1 and 5 then
            fail(-20005, 'priority', 'must be between 1 (highest) and 5 (lowest), got ' || p_priority,
                'Leave it out for the default, 3.');
        end if;
        check_header('idempotency_key', p_idempotency_key);
        if length(p_idempotency_key) > 400 then
            fail(-20005, 'idempotency_key', 'is ' || length(p_idempotency_key) || ' characters, more than the 400 allowed',
                'Use a short key such as ''invoice-2026-0042''.');
        end if;
        -- The characters listed, not [[:alnum:]] or A-Z: those follow the character set and NLS_SORT.
        if p_profile is not null
           and not regexp_like(p_profile, '^[0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_.-]{1,100}$') then
            fail(-20005, 'profile', '"' || p_profile || '" is not a profile name',
                'Use the name of an entry of Outbox:Profiles in the worker''s configuration (letters, digits, _ . -).');
        end if;
        v_address := nvl(regexp_substr(v_sender, '<([^<>]*)>$', 1, 1, null, 1), v_sender);
        -- The Message-ID's right part: the sender's domain, cut to 255 characters (no real domain
        -- is longer) so that the id fits its column whatever the sender (as OutboxClient does).
        v_domain := substr(substr(v_address, instr(v_address, '@') + 1), 1, 255);

        -- A key this user used before returns the mail it made: enqueuing again is harmless. Keys
        -- are unique per owner (created_by), so another user's key is never found. Two sessions
        -- of one user racing with one key wait on the unique index; the loser gets the winner's mail.
        begin
            insert into outbox_message
                (kind, sender, reply_to, subject, text_body, html_body, priority, send_after,
                 idempotency_key, profile, mime_message_id, expires_at, headers)
            values
                (p_kind, v_sender, v_replyto, p_subject, p_text_body, p_html_body, nvl(p_priority, 3),
                 sys_extract_utc(p_send_after), p_idempotency_key, p_profile,
                 '<' || lower(regexp_replace(rawtohex(sys_guid()), '^(.{8})(.{4})(.{4})(.{4})(.{12})$', '\1-\2-\3-\4-\5'))
                     || '@' || v_domain || '>',
                 p_expires_at, p_headers)
            returning id into v_id;
        exception
            when dup_val_on_index then
                select m.id into v_id from outbox_message m
                 where m.created_by = sys_context('userenv', 'session_user') and m.idempotency_key = p_idempotency_key;
        end;
        return v_id;
    end new_message;

    function add_recipients(p_id number, p_kind varchar2, p_param varchar2, p_list varchar2) return pls_integer is
        v_addresses sys.odcivarchar2list := split_addresses(p_param, p_list);
    begin
        forall i in 1 .. v_addresses.count
            insert into outbox_recipient (message_id, kind, address) values (p_id, p_kind, v_addresses(i));
        return v_addresses.count;
    end add_recipients;

    -- Checks that the mail is the caller's own draft of the expected kind, naming the call to use
    -- otherwise, then locks it. A mail of another user gets the same error as an id that does not
    -- exist. Ownership and status are checked before any lock is taken, and the lock does not
    -- wait (NOWAIT), so a caller's open transaction never holds a row the worker writes to.
    -- Returns false for a mail that is no longer a draft but has an idempotency key: the caller
    -- is replaying a builder block that already ran, and every call becomes a no-op.
    function lock_draft(p_id number, p_kind varchar2) return boolean is
        v_status outbox_message.status%type;
        v_kind   outbox_message.kind%type;
        v_key    outbox_message.idempotency_key%type;
        e_busy   exception;
        pragma exception_init(e_busy, -54);
    begin
        begin
            select m.status, m.kind, m.idempotency_key into v_status, v_kind, v_key
              from outbox_message m where m.id = p_id and m.created_by = sys_context('userenv', 'session_user');
        exception
            when no_data_found then
                fail(-20008, 'mail_id', 'no mail with id ' || nvl(to_char(p_id), 'null'),
                    'Use the id returned by create_mail or open_mail in a session of the same user.');
        end;
        if v_kind <> p_kind then
            fail(-20008, 'mail_id',
                case p_kind
                    when 'raw' then 'mail ' || p_id || ' was made by create_mail; use add_recipient / add_attachment / enqueue'
                    else 'mail ' || p_id || ' was opened by open_mail; use rcpt / write_data / close_mail'
                end,
                'Keep to one way of building a mail.');
        end if;
        if v_status <> 'draft' then
            if v_key is not null then
                return false;
            end if;
            fail(-20008, 'mail_id', 'mail ' || p_id || ' is ' || v_status || '; only a draft can be changed', 'Create a new mail.');
        end if;
        begin
            select m.status into v_status from outbox_message m where m.id = p_id for update nowait;
        exception
            when e_busy then
                fail(-20008, 'mail_id', 'mail ' || p_id || ' is being changed by another transaction',
                    'Build a mail in one transaction at a time; commit or roll back the other one first.');
        end;
        -- Queued or cancelled between the check and the lock.
        if v_status <> 'draft' then
            fail(-20008, 'mail_id', 'mail ' || p_id || ' is ' || v_status || '; only a draft can be changed', 'Create a new mail.');
        end if;
        return true;
    end lock_draft;

    procedure require_recipient(p_id number, p_hint varchar2) is
        v_count pls_integer;
    begin
        select count(*) into v_count from outbox_recipient r where r.message_id = p_id and rownum = 1;
        if v_count = 0 then
            fail(-20004, 'recipients', 'mail ' || p_id || ' has no recipient', p_hint);
        end if;
    end require_recipient;

    -- Checks everything stored for a mail or draft (addresses, subject, bodies, attachment names
    -- and contents, raw parts) against OUTBOX_SETTING 'max_message_bytes' (0: no limit), as
    -- outbox.check_stored_size does. Bodies count in characters here (DBMS_LOB.GETLENGTH of a
    -- CLOB), the rest in bytes. Builder calls check after each change, so drafts are bounded too.
    procedure check_stored_size(p_id number) is
        v_limit number;
        v_size  number;
    begin
        select max(to_number(s.value)) into v_limit from outbox_setting s where s.name = 'max_message_bytes';
        if nvl(v_limit, 0) > 0 then
            select nvl(lengthb(m.sender), 0) + nvl(lengthb(m.reply_to), 0) + nvl(lengthb(m.subject), 0)
                 + nvl(dbms_lob.getlength(m.text_body), 0) + nvl(dbms_lob.getlength(m.html_body), 0)
                 + nvl(dbms_lob.getlength(m.template_data), 0) + nvl(lengthb(m.headers), 0)
                 + nvl((select sum(lengthb(r.address)) from outbox_recipient r where r.message_id = m.id), 0)
                 + nvl((select sum(dbms_lob.getlength(a.content) + nvl(lengthb(a.file_name), 0)) from outbox_attachment a where a.message_id = m.id), 0)
                 + nvl((select sum(dbms_lob.getlength(r.content)) from outbox_raw_part r where r.message_id = m.id), 0)
              into v_size
              from outbox_message m where m.id = p_id;
            if v_size > v_limit then
                fail(-20007, 'message', 'mail ' || p_id || ' is ' || v_size || ' bytes, more than the ' || v_limit || ' bytes allowed',
                    'The limit is OUTBOX_SETTING, name ''max_message_bytes''; send large files as links.');
            end if;
        end if;
    end check_stored_size;

    -- Makes a complete mail visible to the worker, after checking its size.
    procedure queue(p_id number) is
    begin
        check_stored_size(p_id);
        -- Oracle has no LISTEN/NOTIFY that fits here: workers find new mail by polling.
        update outbox_message m
           set m.status = 'queued', m.queued_at = sys_extract_utc(systimestamp),
               m.due_at = greatest(sys_extract_utc(systimestamp), nvl(m.send_after, sys_extract_utc(systimestamp)))
         where m.id = p_id;
        outbox_mail_session.last_id := p_id;
    end queue;

    -- The body of UTL_MAIL's calls. The message goes to the HTML body when mime_type is text/html.
    procedure send_simple(
        p_sender varchar2, p_recipients varchar2, p_cc varchar2, p_bcc varchar2, p_subject varchar2,
        p_message varchar2, p_mime_type varchar2, p_priority pls_integer, p_replyto varchar2,
        p_has_attachment boolean, p_attachment blob, p_att_inline boolean, p_att_mime_type varchar2, p_att_filename varchar2,
        p_expires_at timestamp with time zone, p_expires_after interval day to second, p_headers varchar2)
    is
        v_expires_at timestamp := expiry(p_expires_at, p_expires_after, null);
        v_headers    varchar2(4000) := check_headers(p_headers);
        v_html   boolean := regexp_like(nvl(p_mime_type, ' '), '^[[:space:]]*text/html', 'i');
        v_to     sys.odcivarchar2list;
        v_cc     sys.odcivarchar2list;
        v_bcc    sys.odcivarchar2list;
        v_name   varchar2(32767);
        v_inline number(1) := case when nvl(p_att_inline, true) then 1 else 0 end;
        v_id     number;
    begin
        -- Everything but the size limit (QUEUE checks the stored mail) is checked before the first
        -- row is written, so a caller that catches such an error is not left with a half-made
        -- draft (savepoints are not allowed in triggers). A draft is never sent in any case.
        check_header('mime_type', p_mime_type);
        if trim(p_recipients) is null then
            fail(-20001, 'recipients', 'is required', 'Pass at least one address, e.g. recipients => ''dba@example.com''.');
        end if;
        v_to := split_addresses('recipients', p_recipients);
        v_cc := split_addresses('cc', p_cc);
        v_bcc := split_addresses('bcc', p_bcc);
        check_recipient_count('recipients', v_to.count + v_cc.count + v_bcc.count);
        if p_has_attachment then
            if p_attachment is null then
                fail(-20001, 'attachment', 'is required', 'Pass the attachment content, or call OUTBOX_MAIL.SEND.');
            end if;
            if p_att_mime_type is not null then
                check_mime_type('att_mime_type', p_att_mime_type);
            end if;
            v_name := check_file_name('att_filename', p_att_filename);
        end if;

        v_id := new_message('mime', p_sender, p_subject,
            case when v_html then null else p_message end,
            case when v_html then p_message end,
            p_replyto, p_priority, null, null, null, v_expires_at, v_headers);
        forall i in 1 .. v_to.count
            insert into outbox_recipient (message_id, kind, address) values (v_id, 'to', v_to(i));
        forall i in 1 .. v_cc.count
            insert into outbox_recipient (message_id, kind, address) values (v_id, 'cc', v_cc(i));
        forall i in 1 .. v_bcc.count
            insert into outbox_recipient (message_id, kind, address) values (v_id, 'bcc', v_bcc(i));
        if p_has_attachment then
            insert into outbox_attachment (message_id, file_name, mime_type, is_inline, content)
            values (v_id, v_name, nvl(p_att_mime_type, 'application/octet-stream'), v_inline, p_attachment);
        end if;
        queue(v_id);
    end send_simple;

    function text_mime_type(p_mime_type varchar2) return varchar2 is
    begin
        return regexp_replace(p_mime_type, 'charset[[:space:]]*=[[:space:]]*[^;]*', 'charset=utf-8', 1, 0, 'i');
    end text_mime_type;

    ------------------------------------------------------------------------------------------------
    -- 1. UTL_MAIL's calls
    ------------------------------------------------------------------------------------------------

    procedure send(
        sender in varchar2, recipients in varchar2, cc in varchar2 default null, bcc in varchar2 default null,
        subject in varchar2 default null, message in varchar2 default null,
        mime_type in varchar2 default 'text/plain; charset=us-ascii', priority in pls_integer default 3,
        replyto in varchar2 default null, expires_at in timestamp with time zone default null,
        expires_after in interval day to second default null, headers in varchar2 default null)
    is
    begin
        send_simple(sender, recipients, cc, bcc, subject, message, mime_type, priority, replyto,
            false, null, null, null, null, expires_at, expires_after, headers);
    end send;

    procedure send_attach_raw(
        sender in varchar2, recipients in varchar2, cc in varchar2 default null, bcc in varchar2 default null,
        subject in varchar2 default null, message in varchar2 default null,
        mime_type in varchar2 default 'text/plain; charset=us-ascii', priority in pls_integer default 3,
        attachment in raw, att_inline in boolean default true, att_mime_type in varchar2 default 'application/octet',
        att_filename in varchar2 default null, replyto in varchar2 default null, expires_at in timestamp with time zone default null,
        expires_after in interval day to second default null, headers in varchar2 default null)
    is
        v_content blob;
    begin
        if attachment is not null then
            dbms_lob.createtemporary(v_content, true);
            dbms_lob.writeappend(v_content, utl_raw.length(attachment), attachment);
        end if;
        send_simple(sender, recipients, cc, bcc, subject, message, mime_type, priority, replyto,
            true, v_content, att_inline, att_mime_type, att_filename, expires_at, expires_after, headers);
    end send_attach_raw;

    procedure send_attach_blob(
        sender in varchar2, recipients in varchar2, cc in varchar2 default null, bcc in varchar2 default null,
        subject in varchar2 default null, message in varchar2 default null,
        mime_type in varchar2 default 'text/plain; charset=us-ascii', priority in pls_integer default 3,
        attachment in blob, att_inline in boolean default true, att_mime_type in varchar2 default 'application/octet',
        att_filename in varchar2 default null, replyto in varchar2 default null, expires_at in timestamp with time zone default null,
        expires_after in interval day to second default null, headers in varchar2 default null)
    is
    begin
        send_simple(sender, recipients, cc, bcc, subject, message, mime_type, priority, replyto,
            true, attachment, att_inline, att_mime_type, att_filename, expires_at, expires_after, headers);
    end send_attach_blob;

    procedure send_attach_varchar2(
        sender in varchar2, recipients in varchar2, cc in varchar2 default null, bcc in varchar2 default null,
        subject in varchar2 default null, message in varchar2 default null,
        mime_type in varchar2 default 'text/plain; charset=us-ascii', priority in pls_integer default 3,
        attachment in varchar2, att_inline in boolean default true,
        att_mime_type in varchar2 default 'text/plain; charset=us-ascii',
        att_filename in varchar2 default null, replyto in varchar2 default null, expires_at in timestamp with time zone default null,
        expires_after in interval day to second default null, headers in varchar2 default null)
    is
    begin
        send_simple(sender, recipients, cc, bcc, subject, message, mime_type, priority, replyto,
            true, case when attachment is not null then utf8_blob(to_clob(attachment)) end,
            att_inline, text_mime_type(att_mime_type), att_filename, expires_at, expires_after, headers);
    end send_attach_varchar2;

    procedure send_attach_clob(
        sender in varchar2, recipients in varchar2, cc in varchar2 default null, bcc in varchar2 default null,
        subject in varchar2 default null, message in varchar2 default null,
        mime_type in varchar2 default 'text/plain; charset=us-ascii', priority in pls_integer default 3,
        attachment in clob, att_inline in boolean default true,
        att_mime_type in varchar2 default 'text/plain; charset=us-ascii',
        att_filename in varchar2 default null, replyto in varchar2 default null, expires_at in timestamp with time zone default null,
        expires_after in interval day to second default null, headers in varchar2 default null)
    is
    begin
        send_simple(sender, recipients, cc, bcc, subject, message, mime_type, priority, replyto,
            true, case when attachment is not null then utf8_blob(attachment) end,
            att_inline, text_mime_type(att_mime_type), att_filename, expires_at, expires_after, headers);
    end send_attach_clob;

    ------------------------------------------------------------------------------------------------
    -- 2. The builder
    ------------------------------------------------------------------------------------------------

    function create_mail(
        sender in varchar2, subject in varchar2 default null, text_body in clob default null,
        html_body in clob default null, replyto in varchar2 default null, priority in pls_integer default 3,
        send_after in timestamp with time zone default null, idempotency_key in varchar2 default null,
        profile in varchar2 default null, expires_at in timestamp with time zone default null,
        expires_after in interval day to second default null, headers in varchar2 default null) return number
    is
    begin
        return new_message('mime', sender, subject, text_body, html_body, replyto, priority, send_after, idempotency_key, profile,
            expiry(expires_at, expires_after, send_after), check_headers(headers));
    end create_mail;

    procedure store_header(p_id number, p_line varchar2) is
        v_headers varchar2(4000);
    begin
        select m.headers into v_headers from outbox_message m where m.id = p_id;
        v_headers := check_headers_size(case when v_headers is null then p_line else v_headers || chr(10) || p_line end);
        update outbox_message m set m.headers = v_headers where m.id = p_id;
        check_stored_size(p_id);
    end store_header;

    procedure add_header(mail_id in number, name in varchar2, value in varchar2) is
    begin
        if not lock_draft(mail_id, 'mime') then
            return;
        end if;
        store_header(mail_id, check_header_line('name', 'value', name, value));
    end add_header;

    procedure add_recipient(mail_id in number, recipient in varchar2, kind in varchar2 default 'to') is
        v_count pls_integer;
    begin
        if not lock_draft(mail_id, 'mime') then
            return;
        end if;
        if nvl(kind, ' ') not in ('to', 'cc', 'bcc') then
            fail(-20005, 'kind', 'must be to, cc or bcc, got "' || kind || '"', 'Leave it out for to.');
        end if;
        v_count := add_recipients(mail_id, kind, 'recipient', recipient);
        if v_count = 0 then
            fail(-20001, 'recipient', 'is empty', 'Pass an address such as user@example.com.');
        end if;
        check_stored_recipients('recipient', mail_id);
        check_stored_size(mail_id);
    end add_recipient;

    procedure store_body(p_id number, p_text_body clob, p_html_body clob) is
    begin
        update outbox_message m set m.text_body = p_text_body, m.html_body = p_html_body where m.id = p_id;
        check_stored_size(p_id);
    end store_body;

    -- A mail rendered from a template takes its subject and bodies from it.
    procedure refuse_templated(p_id number, p_call varchar2) is
        v_template outbox_message.template%type;
    begin
        select m.template into v_template from outbox_message m where m.id = p_id;
        if v_template is not null then
            fail(-20008, 'mail_id', 'mail ' || p_id || ' is rendered from template ' || v_template || ', which gives its subject and bodies',
                'Leave out ' || p_call || ', or make the mail without set_template.');
        end if;
    end refuse_templated;

    procedure set_body(mail_id in number, text_body in clob, html_body in clob default null) is
    begin
        if not lock_draft(mail_id, 'mime') then
            return;
        end if;
        refuse_templated(mail_id, 'set_body');
        store_body(mail_id, text_body, html_body);
    end set_body;

    -- Returns the attachment's id.
    function store_attachment(p_id number, p_filename varchar2, p_content blob, p_mime_type varchar2, p_content_id varchar2, p_inline boolean) return number is
        v_name   varchar2(32767);
        v_inline number(1);
        v_att_id number;
    begin
        if p_content is null then
            fail(-20001, 'content', 'is required', 'Pass the attachment bytes; an empty file is EMPTY_BLOB().');
        end if;
        v_name := check_file_name('filename', p_filename);
        check_mime_type('mime_type', p_mime_type);
        check_header('content_id', p_content_id);
        check_length('content_id', p_content_id, 400, 'Use a short id such as logo.');
        -- BOOLEAN exists in PL/SQL only (before 23ai): the flag is made a number here, not in SQL.
        v_inline := case when nvl(p_inline, false) or p_content_id is not null then 1 else 0 end;
        insert into outbox_attachment (message_id, file_name, mime_type, content_id, is_inline, content)
        values (p_id, v_name, p_mime_type, rtrim(ltrim(p_content_id, ' <>'), ' <>'), v_inline, p_content)
        returning id into v_att_id;
        check_stored_size(p_id);
        return v_att_id;
    end store_attachment;

    procedure add_attachment(
        mail_id in number, filename in varchar2, content in blob,
        mime_type in varchar2 default 'application/octet-stream', content_id in varchar2 default null,
        inline in boolean default false)
    is
        v_att_id number;
    begin
        if not lock_draft(mail_id, 'mime') then
            return;
        end if;
        v_att_id := store_attachment(mail_id, filename, content, mime_type, content_id, inline);
    end add_attachment;

    function open_attachment(
        mail_id in number, filename in varchar2, mime_type in varchar2 default 'application/octet-stream',
        content_id in varchar2 default null, inline in boolean default false) return number
    is
    begin
        if not lock_draft(mail_id, 'mime') then
            return null;
        end if;
        return store_attachment(mail_id, filename, empty_blob(), mime_type, content_id, inline);
    end open_attachment;

    procedure write_attachment(attachment_id in number, data in raw) is
        v_mail    number;
        v_content blob;
    begin
        -- Another user's attachment is as unknown as a missing one.
        begin
            select a.message_id into v_mail
              from outbox_attachment a join outbox_message m on m.id = a.message_id
             where a.id = write_attachment.attachment_id and m.created_by = sys_context('userenv', 'session_user');
        exception
            when no_data_found then
                fail(-20008, 'attachment_id', 'no attachment with id ' || nvl(to_char(attachment_id), 'null'),
                    'Use the id returned by open_attachment in a session of the same user.');
        end;
        if not lock_draft(v_mail, 'mime') or data is null then
            return;
        end if;
        select a.content into v_content from outbox_attachment a where a.id = write_attachment.attachment_id for update;
        dbms_lob.writeappend(v_content, utl_raw.length(data), data);
        check_stored_size(v_mail);
    end write_attachment;

    procedure enqueue(mail_id in number) is
    begin
        if not lock_draft(mail_id, 'mime') then
            return;
        end if;
        require_recipient(mail_id, 'Add one with OUTBOX_MAIL.ADD_RECIPIENT before ENQUEUE.');
        queue(mail_id);
    end enqueue;

    ------------------------------------------------------------------------------------------------
    -- 3. UTL_SMTP's shape
    ------------------------------------------------------------------------------------------------

    function open_mail(sender in varchar2, expires_at in timestamp with time zone default null,
                       expires_after in interval day to second default null) return number is
    begin
        return new_message('raw', sender, null, null, null, null, 3, null, null, null, expiry(expires_at, expires_after, null));
    end open_mail;

    procedure rcpt(mail_id in number, recipient in varchar2) is
        v_address varchar2(32767);
    begin
        if not lock_draft(mail_id, 'raw') then
            return;
        end if;
        if trim(recipient) is null then
            fail(-20001, 'recipient', 'is required', 'Pass one address per RCPT call.');
        end if;
        v_address := check_address('recipient', recipient);
        insert into outbox_recipient (message_id, kind, address) values (mail_id, 'envelope', v_address);
        check_stored_recipients('recipient', mail_id);
        check_stored_size(mail_id);
    end rcpt;

    -- The draft's row is locked (lock_draft), so no other session adds a part meanwhile.
    procedure store_raw_part(p_id number, p_data blob) is
        v_part_no number;
    begin
        if nvl(dbms_lob.getlength(p_data), 0) > 0 then
            select nvl(max(p.part_no), 0) + 1 into v_part_no from outbox_raw_part p where p.message_id = p_id;
            insert into outbox_raw_part (message_id, part_no, content) values (p_id, v_part_no, p_data);
            check_stored_size(p_id);
        end if;
    end store_raw_part;

    procedure write_raw_data(mail_id in number, data in raw) is
        v_data blob;
    begin
        if not lock_draft(mail_id, 'raw') then
            return;
        end if;
        if data is not null then
            dbms_lob.createtemporary(v_data, true);
            dbms_lob.writeappend(v_data, utl_raw.length(data), data);
        end if;
        store_raw_part(mail_id, v_data);
    end write_raw_data;

    procedure write_data(mail_id in number, data in varchar2) is
    begin
        if not lock_draft(mail_id, 'raw') then
            return;
        end if;
        if data is not null then
            store_raw_part(mail_id, utf8_blob(to_clob(data)));
        end if;
    end write_data;

    -- The Subject header of a raw mail as its caller wrote it, so that list and show (and a filter
    -- on the subject) see one. Reads at most the first 2000 bytes of the first 16 parts and
    -- c_read bytes in all, as Latin-1 so that any bytes do; folding and RFC 2047 encoded-words
    -- are undone for display by the program. Each byte becomes one character of up to four
    -- bytes in the database character set (two in AL32UTF8), so c_read * 4 fits v_head.
    function raw_subject(p_id number) return varchar2 is
        c_read constant pls_integer := 8000;
        v_head varchar2(32767);
        v_room pls_integer := c_read;
        v_part raw(2000);
        v_end  pls_integer;
        v_crlf constant varchar2(2) := chr(13) || chr(10);
    begin
        for r in (select content from (select p.content from outbox_raw_part p where p.message_id = p_id order by p.part_no)
                   where rownum <= 16) loop
            exit when v_room = 0;
            v_part := dbms_lob.substr(r.content, least(2000, v_room), 1);
            v_room := v_room - nvl(utl_raw.length(v_part), 0);
            v_head := v_head || utl_i18n.raw_to_char(v_part, 'WE8ISO8859P1');
        end loop;
        -- The header ends at the first empty line.
        v_end := instr(replace(v_head, v_crlf, chr(10)), chr(10) || chr(10));
        if v_end > 0 then
            v_head := substr(replace(v_head, v_crlf, chr(10)), 1, v_end);
        end if;
        return substr(regexp_substr(chr(10) || replace(v_head, v_crlf, chr(10)),
            chr(10) || 'subject[ ' || chr(9) || ']*:[ ' || chr(9) || ']*([^' || chr(10) || ']*(' || chr(10) || '[ ' || chr(9) || '][^' || chr(10) || ']*)*)',
            1, 1, 'i', 1), 1, 998);
    end raw_subject;

    procedure close_mail(mail_id in number) is
        v_count   pls_integer;
        v_subject outbox_message.subject%type;
    begin
        if not lock_draft(mail_id, 'raw') then
            return;
        end if;
        require_recipient(mail_id, 'Call OUTBOX_MAIL.RCPT at least once before CLOSE_MAIL.');
        select count(*) into v_count from outbox_raw_part p where p.message_id = mail_id and rownum = 1;
        if v_count = 0 then
            fail(-20001, 'data', 'mail ' || mail_id || ' has no text', 'Write the headers and body with OUTBOX_MAIL.WRITE_DATA before CLOSE_MAIL.');
        end if;
        -- Into a variable first: a function private to the body cannot be called from SQL (PLS-00231).
        v_subject := raw_subject(mail_id);
        update outbox_message m set m.subject = v_subject where m.id = mail_id;
        queue(mail_id);
    end close_mail;

    ------------------------------------------------------------------------------------------------
    -- 4. Templates (see sql/postgresql/02_api.sql, section 4)
    ------------------------------------------------------------------------------------------------

    -- The template row for a name and a locale: the row of that locale, else of its language
    -- ('de' for 'de-CH'), else the row without a locale.
    function find_template(p_name varchar2, p_locale varchar2) return outbox_template%rowtype is
        v_row outbox_template%rowtype;
    begin
        if trim(p_name) is null then
            fail(-20001, 'template', 'is required', 'Pass the name of a row of OUTBOX_TEMPLATE, e.g. template => ''order_confirmation''.');
        end if;
        begin
            select * into v_row from (
                select t.* from outbox_template t
                 where t.name = p_name
                   and (t.locale is null or lower(t.locale) = lower(p_locale) or lower(t.locale) = lower(regexp_substr(p_locale, '^[^-]+')))
                 order by case when lower(t.locale) = lower(p_locale) then 0 when t.locale is not null then 1 else 2 end)
             where rownum = 1;
        exception
            when no_data_found then
                fail(-20009, 'template', 'no template named "' || substr(p_name, 1, 100) || '"'
                        || case when p_locale is not null then ' for locale ' || substr(p_locale, 1, 35) || ' nor a default one' end,
                    'Put it first (outbox template put, or an INSERT into OUTBOX_TEMPLATE); outbox template list shows them.');
        end;
        return v_row;
    end find_template;

    -- A template's data: a JSON object of at most 262144 bytes (Outbox.Core's
    -- TemplateLimits.MaxDataBytes), as outbox.check_template_data checks it. Null is {}.
    function check_template_data(p_data clob) return clob is
        v_object json_object_t;
        v_bytes  number;
        v_strict pls_integer;
    begin
        if p_data is null then
            return to_clob('{}');
        end if;
        -- Characters first (never more than bytes), so the byte count below reads a bounded value.
        v_bytes := dbms_lob.getlength(p_data);
        if v_bytes <= 262144 then
            v_bytes := dbms_lob.getlength(utf8_blob(p_data));
        end if;
        if v_bytes > 262144 then
            fail(-20005, 'data', 'is ' || v_bytes || ' bytes, more than the 262144 allowed', 'Pass only the values the template uses.');
        end if;
        -- JSON_OBJECT_T.parse also takes Oracle's lax JSON (unquoted keys, single quotes), which
        -- the worker's parser refuses when it renders the mail: strict syntax first.
        select count(*) into v_strict from dual where p_data is json strict;
        begin
            if v_strict = 0 then
                raise value_error;
            end if;
            v_object := json_object_t.parse(p_data);
        exception
            when others then
                fail(-20005, 'data', 'must be a JSON object in strict JSON syntax (keys and strings in double quotes)', 'Pass an object such as ''{"order": {"id": 42}}''.');
        end;
        return p_data;
    end check_template_data;

    procedure store_template(p_id number, p_template outbox_template%rowtype, p_data clob) is
    begin
        update outbox_message m
           set m.subject = p_template.subject, m.text_body = p_template.text_body, m.html_body = p_template.html_body,
               m.template = p_template.name, m.template_locale = p_template.locale, m.template_data = p_data
         where m.id = p_id;
        check_stored_size(p_id);
    end store_template;

    procedure send_from_template(
        p_sender varchar2, p_recipients varchar2, p_template varchar2, p_data clob, p_cc varchar2, p_bcc varchar2,
        p_replyto varchar2, p_locale varchar2, p_priority pls_integer, p_send_after timestamp with time zone,
        p_idempotency_key varchar2, p_profile varchar2, p_expires_at timestamp with time zone,
        p_expires_after interval day to second, p_headers varchar2)
    is
        v_template outbox_template%rowtype;
        v_data     clob;
        v_id       number;
        v_count    pls_integer;
    begin
        if trim(p_recipients) is null then
            fail(-20001, 'recipients', 'is required', 'Pass at least one address, e.g. recipients => ''customer@example.com''.');
        end if;
        v_template := find_template(p_template, p_locale);
        v_data := check_template_data(p_data);
        v_id := new_message('mime', p_sender, v_template.subject, v_template.text_body, v_template.html_body,
            p_replyto, p_priority, p_send_after, p_idempotency_key, p_profile,
            expiry(p_expires_at, p_expires_after, p_send_after), check_headers(p_headers));
        -- A key this user used before: its mail, already queued, is the answer.
        if not lock_draft(v_id, 'mime') then
            outbox_mail_session.last_id := v_id;
            return;
        end if;
        store_template(v_id, v_template, v_data);
        v_count := add_recipients(v_id, 'to', 'recipients', p_recipients);
        v_count := add_recipients(v_id, 'cc', 'cc', p_cc);
        v_count := add_recipients(v_id, 'bcc', 'bcc', p_bcc);
        check_stored_recipients('recipients', v_id);
        require_recipient(v_id, 'Pass at least one address, e.g. recipients => ''customer@example.com''.');
        queue(v_id);
    end send_from_template;

    procedure send_template(
        sender in varchar2, recipients in varchar2, template in varchar2, data in clob default '{}',
        cc in varchar2 default null, bcc in varchar2 default null, replyto in varchar2 default null,
        locale in varchar2 default null, priority in pls_integer default 3,
        send_after in timestamp with time zone default null, idempotency_key in varchar2 default null,
        profile in varchar2 default null, expires_at in timestamp with time zone default null,
        expires_after in interval day to second default null, headers in varchar2 default null)
    is
    begin
        send_from_template(sender, recipients, template, data, cc, bcc, replyto, locale, priority, send_after, idempotency_key, profile,
            expires_at, expires_after, headers);
    end send_template;

    procedure set_template(mail_id in number, template in varchar2, data in clob default '{}', locale in varchar2 default null) is
    begin
        if not lock_draft(mail_id, 'mime') then
            return;
        end if;
        store_template(mail_id, find_template(template, locale), check_template_data(data));
    end set_template;

    function last_mail_id return number is
    begin
        return outbox_mail_session.last_id;
    end last_mail_id;

    function mail_status(mail_id in number) return sys_refcursor is
        v_id     number := mail_id;
        v_cursor sys_refcursor;
    begin
        open v_cursor for
            select m.id, m.status, m.created_at, m.queued_at, m.sent_at, m.attempt_count, m.last_attempt_at, m.smtp_code, m.smtp_reply, m.last_error,
                   m.expires_at
              from outbox_message m
             where m.id = v_id and m.created_by = sys_context('userenv', 'session_user');
        return v_cursor;
    end mail_status;

    function mail_recipients(mail_id in number) return sys_refcursor is
        v_id     number := mail_id;
        v_cursor sys_refcursor;
    begin
        open v_cursor for
            select r.kind, r.address, r.status, r.smtp_reply
              from outbox_recipient r
              join outbox_message m on m.id = r.message_id
             where m.id = v_id and m.created_by = sys_context('userenv', 'session_user')
             order by r.id;
        return v_cursor;
    end mail_recipients;

end outbox_mail;
/

show errors package body outbox_mail

-- SQL*Plus reports compilation errors without failing (WHENEVER SQLERROR does not see them):
-- this makes an install with an invalid package (specification or body) stop here.
declare
    v_errors pls_integer;
begin
    select count(*) into v_errors from user_errors where name = 'OUTBOX_MAIL' and attribute = 'ERROR';
    if v_errors > 0 then
        raise_application_error(-20000, 'OUTBOX_MAIL did not compile: see the errors above, or select * from user_errors where name = ''OUTBOX_MAIL''.');
    end if;
end;
/

-- Pausing and resuming sending (schema version 6), as outbox.pause / outbox.resume do on
-- PostgreSQL and `outbox pause` / `outbox resume` everywhere: a package of its own, because
-- OUTBOX_MAIL is granted to every sender and this is an operator's (05_roles.sql grants it to
-- OUTBOX_WORKER alone). Recorded in the caller's name (SESSION_USER). Each worker stops sending
-- the paused mail between mails within its poll interval.
--   select outbox_control.pause from dual;                              -- all sending
--   select outbox_control.pause('bulk', 'provider incident') from dual;  -- one profile's mail
--   select outbox_control.resume from dual;                             -- everything paused
create or replace package outbox_control authid definer as
    function pause(profile varchar2 default null, reason varchar2 default null) return varchar2;
    function resume(profile varchar2 default null) return varchar2;
end outbox_control;
/

show errors package outbox_control

create or replace package body outbox_control as

    function scope_text(p_scope varchar2) return varchar2 is
    begin
        return case when p_scope = '*' then 'all sending' else 'profile "' || p_scope || '"' end;
    end scope_text;

    -- An autonomous transaction: a SELECT may call it, and the pause holds whatever the
    -- caller's transaction does next.
    function do_pause(p_profile varchar2, p_reason varchar2) return varchar2 is
        pragma autonomous_transaction;
        v_scope varchar2(100 char);
        v_row outbox_pause%rowtype;
    begin
        if p_profile is not null and (length(p_profile) > 100
                or not regexp_like(p_profile, '^[0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_.-]{1,100}$')) then
            raise_application_error(-20001, 'profile: "' || substr(p_profile, 1, 60) || '" is not a profile name. '
                || 'Give the name of an entry of Outbox:Profiles (letters, digits, _ . -, at most 100), or default; null pauses all sending.');
        end if;
        if length(p_reason) > 500 or regexp_like(p_reason, '[[:cntrl:]]') then
            raise_application_error(-20001, 'reason: is ' || length(p_reason) || ' characters or holds control characters. Say why in one line of at most 500 characters.');
        end if;
        v_scope := nvl(p_profile, '*');
        -- A pause in force stands as it is; a scope resumed earlier is paused again in its row.
        merge into outbox_pause p
        using (select v_scope as scope from dual) d
           on (p.scope = d.scope)
         when matched then update
              set p.paused_by = sys_context('userenv', 'session_user'), p.paused_at = sys_extract_utc(systimestamp),
                  p.reason = trim(p_reason), p.resumed_by = null, p.resumed_at = null
            where p.resumed_at is not null
         when not matched then insert (scope, paused_by, paused_at, reason)
              values (d.scope, sys_context('userenv', 'session_user'), sys_extract_utc(systimestamp), trim(p_reason));
        select * into v_row from outbox_pause p where p.scope = v_scope;
        commit;
        return scope_text(v_scope) || ' paused by ' || v_row.paused_by || ' at '
            || to_char(v_row.paused_at, 'YYYY-MM-DD"T"HH24:MI:SS.FF3"Z"')
            || case when v_row.reason is not null then ' (' || v_row.reason || ')' end;
    end do_pause;

    function do_resume(p_profile varchar2) return varchar2 is
        pragma autonomous_transaction;
        v_resumed varchar2(4000 char);
    begin
        for p in (select scope from outbox_pause
                   where resumed_at is null and (p_profile is null or scope = p_profile)
                   order by scope
                     for update) loop
            update outbox_pause set resumed_by = sys_context('userenv', 'session_user'), resumed_at = sys_extract_utc(systimestamp)
             where scope = p.scope;
            v_resumed := case when v_resumed is not null then v_resumed || ', ' end || scope_text(p.scope);
        end loop;
        commit;
        if v_resumed is null then
            return case when p_profile is null then 'nothing is paused' else 'profile "' || substr(p_profile, 1, 100) || '" is not paused' end;
        end if;
        return 'resumed ' || v_resumed;
    end do_resume;

    function pause(profile varchar2 default null, reason varchar2 default null) return varchar2 is
    begin
        return do_pause(profile, reason);
    end pause;

    function resume(profile varchar2 default null) return varchar2 is
    begin
        return do_resume(profile);
    end resume;
end outbox_control;
/

show errors package body outbox_control

declare
    v_errors pls_integer;
begin
    select count(*) into v_errors from user_errors where name = 'OUTBOX_CONTROL' and attribute = 'ERROR';
    if v_errors > 0 then
        raise_application_error(-20000, 'OUTBOX_CONTROL did not compile: see the errors above, or select * from user_errors where name = ''OUTBOX_CONTROL''.');
    end if;
end;
/
