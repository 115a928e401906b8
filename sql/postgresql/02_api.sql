-- Outbox for PostgreSQL, part 2 of 3: the in-database API, schema "outbox_mail".
--
-- Run after 01_tables.sql, as the same owner:
--   psql -v ON_ERROR_STOP=1 -d yourdb -f sql/postgresql/02_api.sql
-- Safe to run more than once: every function is created or replaced.
--
-- Four ways to enqueue, all inside the caller's transaction (nothing is sent unless it commits):
--   1. UTL_MAIL's shape:   outbox_mail.send / send_attach_raw / send_attach_varchar2
--   2. the builder:        create_mail -> add_recipient / add_attachment / set_body (or set_template) -> enqueue
--   3. UTL_SMTP's shape:   open_mail -> rcpt -> write_data / write_raw_data -> close_mail
--   4. a template:         send_template, or set_template in the builder (see section 4)
-- Every function returns the mail's id (a bigint) or nothing. Bad input raises SQLSTATE 22023
-- (invalid_parameter_value) with a message that starts with the parameter's name.
--
-- The public functions are SECURITY DEFINER, so a role granted only EXECUTE on them (see
-- 03_roles.sql) can enqueue without any access to the tables. The helpers in schema "outbox"
-- are not callable by such a role.

create schema if not exists outbox_mail;

------------------------------------------------------------------------------------------------
-- Validation helpers (schema outbox; not part of the API)
------------------------------------------------------------------------------------------------

create or replace function outbox.raise_invalid(param text, problem text, hint text)
returns void language plpgsql as $$
begin
    raise exception using errcode = '22023', message = param || ': ' || problem, hint = hint;
end $$;

-- A limit from outbox_setting, 0 (no limit) when it is absent or 0. The limits bound what one
-- caller can store, so that every page, download and render of a mail is bounded too.
create or replace function outbox.setting_limit(p_name text)
returns bigint language sql stable as $$
    select coalesce((select s.value::bigint from outbox.outbox_setting s where s.name = p_name), 0)
$$;

create or replace function outbox.check_length(param text, value text, setting text, what text)
returns void language plpgsql stable as $$
declare
    v_limit bigint := outbox.setting_limit(setting);
begin
    if v_limit > 0 and length(value) > v_limit then
        perform outbox.raise_invalid(param, format('is %s characters, more than the %s allowed for %s', length(value), v_limit, what),
            format('The limit is outbox.outbox_setting, name ''%s''.', setting));
    end if;
end $$;

-- A header value must be one line: a CR or LF would let the value start a header of its own.
-- Its length is bounded by outbox_setting 'max_header_chars'.
create or replace function outbox.check_header(param text, value text)
returns text language plpgsql stable as $$
begin
    if value ~ '[\r\n]' then
        perform outbox.raise_invalid(param, 'must not contain a line break (CR or LF)',
            'Header values are single lines; remove the line breaks.');
    end if;
    perform outbox.check_length(param, value, 'max_header_chars', 'a header value');
    return value;
end $$;

-- Accepts "user@example.com" or "Display Name <user@example.com>". The same rule is in
-- Outbox.Core's MailAddressRules, so every way of enqueuing rejects the same input.
create or replace function outbox.check_address(param text, value text)
returns text language plpgsql stable as $$
declare
    trimmed text;
    angle   text[];
begin
    perform outbox.check_length(param, btrim(value), 'max_address_chars', 'an address');
    -- An assignment is evaluated directly; a PERFORM would run a whole query (slower, in the hot path).
    trimmed := outbox.check_header(param, btrim(coalesce(value, '')));
    if trimmed = '' then
        perform outbox.raise_invalid(param, 'is empty', 'Pass an address such as user@example.com.');
    end if;
    angle := regexp_match(trimmed, '^([^<>]*)<([^<>]*)>$');
    -- The display name, outside its quoted parts, holds none of the specials that would make the
    -- value a group ("team: a@x;") or a second address; the worker's parser takes what passes.
    if coalesce(angle[2], trimmed) !~ '^[^\s@<>(),;:"\[\]\\]+@[^\s@<>(),;:"\[\]\\.]+(\.[^\s@<>(),;:"\[\]\\.]+)*$'
       or regexp_replace(coalesce(angle[1], ''), '"[^"]*"', '', 'g') ~ '[():;@"\[\]\\]' then
        perform outbox.raise_invalid(param, format('"%s" is not a valid mail address', trimmed),
            'Write it as user@example.com or "Name <user@example.com>".');
    end if;
    return trimmed;
end $$;

-- UTL_MAIL takes recipient lists as one string separated by commas; semicolons are accepted
-- too. A separator inside double quotes ("Doe, Jane" <jane@example.com>) does not split. A list
-- without quotes (the usual case) is split at once; one with quotes is cut at the quotes, and only
-- the pieces outside them are split, so the cost grows with the list's length, not its square.
-- PL/pgSQL, not SQL: its plans are kept from call to call.
drop function if exists outbox.split_addresses(text, text);

create or replace function outbox.address_list(param text, list text)
returns text[] language plpgsql stable as $$
declare
    parts    text[];
    pieces   text[];
    part     text;
    current  text := '';
    checked  text[] := '{}';
    i        integer;
    j        integer;
begin
    if coalesce(btrim(list), '') = '' then
        return checked;
    end if;
    if strpos(list, '"') = 0 then
        parts := string_to_array(translate(list, ';', ','), ',');
    else
        parts := '{}';
        pieces := string_to_array(list, '"');
        for i in 1 .. array_length(pieces, 1) loop
            if i % 2 = 0 then
                -- inside quotes (the 2nd, 4th, ... piece): kept whole, with its quotes
                current := current || '"' || pieces[i] || case when i < array_length(pieces, 1) then '"' else '' end;
            else
                parts := string_to_array(translate(pieces[i], ';', ','), ',');
                for j in 1 .. coalesce(array_length(parts, 1), 0) loop
                    if j = 1 then
                        current := current || parts[j];
                    else
                        checked := checked || current;
                        current := parts[j];
                    end if;
                end loop;
            end if;
        end loop;
        parts := checked || current;
        checked := '{}';
    end if;
    -- Counted before each address is checked, so a list of a million addresses costs one split.
    perform outbox.check_recipient_count(param, array_length(parts, 1));
    foreach part in array parts loop
        if btrim(part) <> '' then
            checked := checked || outbox.check_address(param, part);
        end if;
    end loop;
    return checked;
end $$;

-- Refuses more recipients for one mail than outbox_setting 'max_recipients' (to, cc and bcc, or
-- rcpt's envelope recipients, together).
create or replace function outbox.check_recipient_count(param text, p_count bigint)
returns void language plpgsql stable as $$
declare
    v_limit bigint := outbox.setting_limit('max_recipients');
begin
    if v_limit > 0 and p_count > v_limit then
        perform outbox.raise_invalid(param, format('the mail would have %s recipients, more than the %s allowed', p_count, v_limit),
            'The limit is outbox.outbox_setting, name ''max_recipients''; send one mail per group of recipients.');
    end if;
end $$;

create or replace function outbox.check_stored_recipients(param text, p_id bigint)
returns void language plpgsql stable as $$
begin
    perform outbox.check_recipient_count(param, (select count(*) from outbox.outbox_recipient where message_id = p_id));
end $$;

-- An attachment's name: one line without control characters, no folders (a path is cut to its
-- last part, as mail programs would), and not of a blocked type (outbox_setting
-- 'blocked_extensions'). The type is judged as a mail program shows and saves the name: case
-- ignored, trailing dots and spaces dropped (Windows drops them), and each part around a ":"
-- judged on its own ("evil.exe::$DATA" is saved as evil.exe on NTFS). The same rule is in
-- EnqueueLimits.CheckFileName and in OUTBOX_MAIL.check_file_name.
create or replace function outbox.check_file_name(param text, value text)
returns text language plpgsql as $$
declare
    v_name      text := nullif(regexp_replace(btrim(coalesce(value, '')), '^.*[/\\]', ''), '');
    v_blocked   text[];
    v_segment   text;
    v_extension text;
begin
    perform outbox.check_header(param, value);
    if value ~ '[\x01-\x1f\x7f]' then
        perform outbox.raise_invalid(param, 'must not contain control characters',
            'Use a plain file name such as report.pdf.');
    end if;
    if v_name is null then
        return null;
    end if;
    select array_agg(lower(btrim(e, ' .'))) into v_blocked
      from outbox.outbox_setting s, regexp_split_to_table(s.value, ',') e
     where s.name = 'blocked_extensions' and btrim(e, ' .') <> '';
    foreach v_segment in array string_to_array(v_name, ':') loop
        v_extension := lower(substring(rtrim(v_segment, '. ') from '\.([^.]*)$'));
        if v_extension = any (v_blocked) then
            perform outbox.raise_invalid(param, format('attachments named *.%s are refused (%s)', v_extension, v_name),
                'The blocked types are listed in outbox.outbox_setting, name ''blocked_extensions''.');
        end if;
    end loop;
    return v_name;
end $$;

-- A MIME type the worker can parse: type/subtype, then parameters attribute=value (a token or a
-- quoted string). No name or filename parameter: the file name is the filename argument, where
-- its type is checked; a name hidden in the type would bypass that. The token characters are
-- listed, not ranges, so the pattern is the same in PL/SQL (whose ranges follow NLS_SORT) and C#.
create or replace function outbox.check_mime_type(param text, value text)
returns text language plpgsql as $$
begin
    perform outbox.check_header(param, value);
    if coalesce(value, '') !~ '^[0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$&^_.+-]+/[0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$&^_.+-]+( *; *[0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$&^_.+-]+ *= *([0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$&^_.+-]+|"[^"]*"))* *;? *$' then
        perform outbox.raise_invalid(param, format('"%s" is not a MIME type', value),
            'Write it as type/subtype with optional parameters, e.g. application/pdf or text/plain; charset=utf-8.');
    end if;
    if lower(value) ~ '; *(file)?name *=' then
        perform outbox.raise_invalid(param, 'must not hold a name or filename parameter',
            'Pass the file name as the filename argument.');
    end if;
    return value;
end $$;

-- A mail's expiry as stored: expires_at, or now() plus expires_after; at most one of the two,
-- later than now and than send_after, at most 366 days ahead. The same rule is in
-- MailRequestValidator.CheckExpiry and OUTBOX_MAIL.expiry.
create or replace function outbox.expiry(p_expires_at timestamptz, p_expires_after interval, p_send_after timestamptz)
returns timestamptz language plpgsql stable as $$
declare
    v_at    timestamptz;
    v_param text := case when p_expires_at is null then 'expires_after' else 'expires_at' end;
begin
    if p_expires_at is null and p_expires_after is null then
        return null;
    end if;
    if p_expires_at is not null and p_expires_after is not null then
        perform outbox.raise_invalid('expires_after', 'was given with expires_at', 'Give one of the two.');
    end if;
    if p_expires_after is not null and (p_expires_after <= interval '0' or p_expires_after > interval '366 days') then
        perform outbox.raise_invalid('expires_after', format('must be more than 0 and at most 366 days, got %s', p_expires_after),
            'Give how long the mail stays worth sending, e.g. interval ''2 hours''.');
    end if;
    v_at := coalesce(p_expires_at, now() + p_expires_after);
    if p_expires_at is not null and (not isfinite(p_expires_at) or p_expires_at <= now() or p_expires_at > now() + interval '366 days') then
        perform outbox.raise_invalid('expires_at', format('must be later than now and at most 366 days ahead, got %s',
                to_char(p_expires_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
            'Give a time when the mail stops being worth sending, or leave it out for a mail that never expires.');
    end if;
    if v_at <= p_send_after then
        perform outbox.raise_invalid(v_param, format('is not later than send_after (%s)', to_char(p_send_after at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
            'A mail that expires before it may be sent would never go out; move one of the two.');
    end if;
    return v_at;
end $$;

-- One extra header, checked as MailHeaderRules checks it, as its stored line "Name: value": a
-- name of 1 to 76 printable ASCII characters but ":" (RFC 5322), none the worker writes itself,
-- a value of one line without control characters, the line at most 998 characters.
create or replace function outbox.check_header_line(p_name_param text, p_value_param text, p_name text, p_value text)
returns text language plpgsql immutable as $$
declare
    v_value text := btrim(coalesce(p_value, ''), E' \t');
    v_line  text;
begin
    if p_name is null or p_name !~ '^[!-9;-~]{1,76}$' then
        perform outbox.raise_invalid(p_name_param, format('"%s" is not a header name', left(regexp_replace(coalesce(p_name, '(null)'), '[[:cntrl:]]', '?', 'g'), 80)),
            'Use 1 to 76 printable ASCII characters without spaces or a colon, e.g. List-Unsubscribe or X-Campaign.');
    end if;
    if lower(p_name) in ('from', 'sender', 'reply-to', 'to', 'cc', 'bcc', 'subject', 'date', 'message-id', 'mime-version',
                         'x-priority', 'return-path', 'received', 'dkim-signature')
       or lower(p_name) like 'content-%' or lower(p_name) like 'resent-%' then
        perform outbox.raise_invalid(p_name_param, format('%s is written by the worker', p_name),
            'Leave it out: From, To, Cc, Subject, Reply-To and the priority have their own parameters; Date, Message-ID, MIME-Version, Content-*, Resent-*, Received, Return-Path and DKIM-Signature are not the caller''s.');
    end if;
    if v_value = '' then
        perform outbox.raise_invalid(p_value_param, format('%s has no value', p_name), 'Give it a value, or leave the header out.');
    end if;
    if v_value ~ '[\x01-\x08\x0a-\x1f\x7f]' then
        perform outbox.raise_invalid(p_value_param, format('the value of %s holds a line break or another control character', p_name),
            'Header values are single lines of text; remove the line breaks.');
    end if;
    v_line := p_name || ': ' || v_value;
    if length(v_line) > 998 then
        perform outbox.raise_invalid(p_value_param, format('%s is %s characters with its name, more than the 998 allowed', p_name, length(v_line)),
            'Shorten its value.');
    end if;
    return v_line;
end $$;

-- The stored headers of a mail may take at most 4000 bytes (Oracle's VARCHAR2; one bound everywhere).
create or replace function outbox.check_headers_size(p_headers text)
returns text language plpgsql immutable as $$
begin
    if octet_length(p_headers) > 4000 then
        perform outbox.raise_invalid('headers', format('are %s bytes in all, more than the 4000 allowed', octet_length(p_headers)),
            'Send fewer or shorter headers.');
    end if;
    return p_headers;
end $$;

-- Extra headers given as one text, a "Name: value" per line (LF or CRLF; empty lines are
-- skipped), as stored: each line checked, joined by LF. Null when there are none.
create or replace function outbox.check_headers(p_headers text)
returns text language plpgsql immutable as $$
declare
    v_line  text;
    v_lines text[] := '{}';
begin
    if p_headers is null then
        return null;
    end if;
    foreach v_line in array regexp_split_to_array(p_headers, E'\r?\n') loop
        if btrim(v_line) <> '' then
            if strpos(v_line, ':') = 0 then
                perform outbox.raise_invalid('headers', format('"%s" is not a header', left(regexp_replace(v_line, '[[:cntrl:]]', '?', 'g'), 80)),
                    'Write one header per line as Name: value, e.g. List-Unsubscribe: <https://example.com/u/42>.');
            end if;
            v_lines := v_lines || outbox.check_header_line('headers', 'headers', btrim(split_part(v_line, ':', 1)), substr(v_line, strpos(v_line, ':') + 1));
        end if;
    end loop;
    return outbox.check_headers_size(nullif(array_to_string(v_lines, E'\n'), ''));
end $$;

drop function if exists outbox.new_message(text, text, text, text, text, text, integer, timestamptz, text);
drop function if exists outbox.new_message(text, text, text, text, text, text, integer, timestamptz, text, text);
drop function if exists outbox.new_message(text, text, text, text, text, text, integer, timestamptz, text, text, boolean);

-- Writes the mail row: a draft (the builder and open_mail fill it in, then queue it), or, with
-- p_queued, a mail visible to the worker at once (send_*, which check everything first: one
-- INSERT instead of an INSERT and an UPDATE of the same row).
create or replace function outbox.new_message(
    p_kind text, p_sender text, p_subject text, p_text_body text, p_html_body text,
    p_replyto text, p_priority integer, p_send_after timestamptz, p_idempotency_key text,
    p_profile text default null, p_queued boolean default false,
    p_expires_at timestamptz default null, p_headers text default null)
returns bigint language plpgsql as $$
declare
    v_sender   text;
    v_checked  text;
    v_id       bigint;
begin
    if p_sender is null or btrim(p_sender) = '' then
        perform outbox.raise_invalid('sender', 'is required', 'Pass the From address, e.g. sender => ''app@example.com''.');
    end if;
    v_sender := outbox.check_address('sender', p_sender);
    if p_replyto is not null then
        v_checked := outbox.check_address('replyto', p_replyto);
    end if;
    v_checked := outbox.check_header('subject', p_subject);
    -- A null priority is the default, as UTL_MAIL's calls take it (there: no X-Priority header).
    if p_priority not between 1 and 5 then
        perform outbox.raise_invalid('priority', format('must be between 1 (highest) and 5 (lowest), got %s', p_priority),
            'Leave it out for the default, 3.');
    end if;
    v_checked := outbox.check_header('idempotency_key', p_idempotency_key);
    if length(p_idempotency_key) > 400 then
        perform outbox.raise_invalid('idempotency_key', format('is %s characters, more than the 400 allowed', length(p_idempotency_key)),
            'Use a short key such as ''invoice-2026-0042''.');
    end if;
    if not isfinite(p_send_after) then
        perform outbox.raise_invalid('send_after', format('must be a point in time, got %s', p_send_after),
            'Pass a time such as now() + interval ''1 hour'', or null to send at once.');
    end if;
    if p_profile is not null and p_profile !~ '^[A-Za-z0-9_.-]{1,100}$' then
        perform outbox.raise_invalid('profile', format('"%s" is not a profile name', p_profile),
            'Use the name of an entry of Outbox:Profiles in the worker''s configuration (letters, digits, _ . -).');
    end if;

    if not p_queued then
        v_checked := outbox.check_size(coalesce(octet_length(p_sender), 0) + coalesce(octet_length(p_replyto), 0) + coalesce(octet_length(p_subject), 0)
            + coalesce(octet_length(p_text_body), 0) + coalesce(octet_length(p_html_body), 0) + coalesce(octet_length(p_headers), 0), 'the mail');
    end if;

    -- A key this role used before returns the mail it made: enqueuing again is harmless. Keys
    -- are unique per owner (created_by, the login role), so another role's key is never found.
    -- Two sessions of one role racing with one key wait on the unique index; the loser gets the
    -- winner's mail.
    insert into outbox.outbox_message
        (status, queued_at, due_at, kind, sender, reply_to, subject, text_body, html_body, priority, send_after,
         idempotency_key, profile, mime_message_id, expires_at, headers)
    values
        (case when p_queued then 'queued' else 'draft' end,
         case when p_queued then now() end,
         case when p_queued then greatest(now(), coalesce(p_send_after, now())) end,
         p_kind, v_sender, btrim(p_replyto), p_subject, p_text_body, p_html_body, coalesce(p_priority, 3), p_send_after,
         p_idempotency_key, p_profile,
         '<' || gen_random_uuid() || '@' || split_part(coalesce((regexp_match(v_sender, '<([^<>]*)>$'))[1], v_sender), '@', 2) || '>',
         p_expires_at, p_headers)
    on conflict (created_by, idempotency_key) do nothing
    returning id into v_id;
    if v_id is null then
        select id into v_id from outbox.outbox_message
         where created_by = session_user and idempotency_key = p_idempotency_key;
    end if;
    return v_id;
end $$;

create or replace function outbox.add_recipients(p_id bigint, p_kind text, p_param text, p_list text)
returns integer language plpgsql as $$
declare
    v_count integer;
begin
    insert into outbox.outbox_recipient (message_id, kind, address)
    select p_id, p_kind, address from unnest(outbox.address_list(p_param, p_list)) as address;
    get diagnostics v_count = row_count;
    return v_count;
end $$;

-- Checks that the mail is the caller's own draft of the expected kind, naming the call to use
-- otherwise, then locks it. A mail of another role gets the same error as an id that does not
-- exist. Ownership and status are checked before any lock is taken, and the lock does not
-- wait (NOWAIT), so a caller's open transaction never holds a row the worker writes to.
-- Returns false for a mail that is no longer a draft but has an idempotency key: the caller
-- is replaying a builder block that already ran, and every call becomes a no-op.
create or replace function outbox.lock_draft(p_id bigint, p_kind text)
returns boolean language plpgsql as $$
declare
    v_status text;
    v_kind   text;
    v_key    text;
begin
    select status, kind, idempotency_key into v_status, v_kind, v_key
      from outbox.outbox_message where id = p_id and created_by = session_user;
    if not found then
        perform outbox.raise_invalid('mail_id', format('no mail with id %s', coalesce(p_id::text, 'null')),
            'Use the id returned by create_mail or open_mail in a session of the same database role.');
    end if;
    if v_kind <> p_kind then
        perform outbox.raise_invalid('mail_id',
            case p_kind when 'raw' then format('mail %s was made by create_mail; use add_recipient / add_attachment / enqueue', p_id)
                        else format('mail %s was opened by open_mail; use rcpt / write_data / close_mail', p_id) end,
            'Keep to one way of building a mail.');
    end if;
    if v_status <> 'draft' then
        if v_key is not null then
            return false;
        end if;
        perform outbox.raise_invalid('mail_id', format('mail %s is %s; only a draft can be changed', p_id, v_status),
            'Create a new mail.');
    end if;
    begin
        select status into v_status from outbox.outbox_message where id = p_id for update nowait;
    exception when lock_not_available then
        perform outbox.raise_invalid('mail_id', format('mail %s is being changed by another transaction', p_id),
            'Build a mail in one transaction at a time; commit or roll back the other one first.');
    end;
    -- Queued or cancelled between the check and the lock.
    if v_status <> 'draft' then
        perform outbox.raise_invalid('mail_id', format('mail %s is %s; only a draft can be changed', p_id, v_status),
            'Create a new mail.');
    end if;
    return true;
end $$;

-- Refuses a mail larger than outbox_setting 'max_message_bytes' (everything stored for it,
-- before encoding; 0: no limit).
drop function if exists outbox.check_size(bigint, text);

-- Returns the size, so a caller can assign it rather than PERFORM it.
create or replace function outbox.check_size(p_bytes bigint, p_what text)
returns bigint language plpgsql as $$
declare
    v_limit bigint;
begin
    select s.value::bigint into v_limit from outbox.outbox_setting s where s.name = 'max_message_bytes';
    if coalesce(v_limit, 0) > 0 and p_bytes > v_limit then
        perform outbox.raise_invalid('message', format('%s is %s bytes, more than the %s bytes allowed', p_what, p_bytes, v_limit),
            'The limit is outbox.outbox_setting, name ''max_message_bytes''; send large files as links.');
    end if;
    return p_bytes;
end $$;

-- Everything stored for a mail, in bytes: addresses, subject, bodies, attachment names and
-- contents, and raw parts. Builder calls check it after each change, so a draft is bounded
-- too, not only a queued mail.
create or replace function outbox.stored_bytes(p_id bigint)
returns bigint language sql stable as $$
    select coalesce(octet_length(m.sender), 0) + coalesce(octet_length(m.reply_to), 0) + coalesce(octet_length(m.subject), 0)
         + coalesce(octet_length(m.text_body), 0) + coalesce(octet_length(m.html_body), 0) + coalesce(octet_length(m.template_data), 0)
         + coalesce(octet_length(m.headers), 0)
         + coalesce((select sum(octet_length(r.address)) from outbox.outbox_recipient r where r.message_id = m.id), 0)
         + coalesce((select sum(octet_length(a.content) + coalesce(octet_length(a.file_name), 0)) from outbox.outbox_attachment a where a.message_id = m.id), 0)
         + coalesce((select sum(octet_length(p.content)) from outbox.outbox_raw_part p where p.message_id = m.id), 0)
      from outbox.outbox_message m where m.id = p_id
$$;

-- Checks a stored mail or draft against max_message_bytes; costs nothing while there is no limit.
create or replace function outbox.check_stored_size(p_id bigint)
returns void language plpgsql as $$
begin
    if exists (select 1 from outbox.outbox_setting s where s.name = 'max_message_bytes' and s.value::bigint > 0) then
        perform outbox.check_size(outbox.stored_bytes(p_id), format('mail %s', p_id));
    end if;
end $$;

-- A queued mail: wakes listening workers when the transaction commits (PostgreSQL sends one
-- notification per transaction however many mails it queued; polling remains the safety net),
-- and remembers the id for outbox_mail.last_mail_id(), as on Oracle (whose SEND is a procedure).
create or replace function outbox.announce(p_id bigint)
returns void language plpgsql as $$
begin
    perform pg_notify('outbox_mail', ''), set_config('outbox.last_mail_id', p_id::text, false);
end $$;

-- Makes a complete draft visible to the worker, after checking its stored size.
create or replace function outbox.queue(p_id bigint)
returns void language plpgsql as $$
begin
    perform outbox.check_stored_size(p_id);
    update outbox.outbox_message
       set status = 'queued', queued_at = now(), due_at = greatest(now(), coalesce(send_after, now()))
     where id = p_id;
    perform outbox.announce(p_id);
end $$;

create or replace function outbox.require_recipient(p_id bigint, p_hint text)
returns void language plpgsql as $$
begin
    if not exists (select 1 from outbox.outbox_recipient where message_id = p_id) then
        perform outbox.raise_invalid('recipients', format('mail %s has no recipient', p_id), p_hint);
    end if;
end $$;

drop function if exists outbox.send_simple(text, text, text, text, text, text, text, integer, text, bytea, boolean, text, text, boolean);

-- The body of UTL_MAIL's three calls. The body goes to html_body when mime_type is text/html.
-- Bodies and text attachments are always sent as UTF-8, whatever charset mime_type names,
-- because PostgreSQL text is already Unicode.
create or replace function outbox.send_simple(
    p_sender text, p_recipients text, p_cc text, p_bcc text, p_subject text, p_message text,
    p_mime_type text, p_priority integer, p_replyto text,
    p_attachment bytea, p_att_inline boolean, p_att_mime_type text, p_att_filename text, p_has_attachment boolean,
    p_expires_at timestamptz, p_expires_after interval, p_headers text)
returns bigint language plpgsql as $$
declare
    v_id   bigint;
    v_expires_at timestamptz;
    v_headers    text;
    v_html boolean := coalesce(p_mime_type, '') ~* '^\s*text/html';
    v_to   text[];
    v_cc   text[];
    v_bcc  text[];
    v_name text;
    v_size bigint;
begin
    -- Everything is checked before the first row is written; the mail is then written queued.
    v_name := outbox.check_header('mime_type', p_mime_type);
    if coalesce(btrim(p_recipients), '') = '' then
        perform outbox.raise_invalid('recipients', 'is required', 'Pass at least one address, e.g. recipients => ''dba@example.com''.');
    end if;
    v_to := outbox.address_list('recipients', p_recipients);
    v_cc := outbox.address_list('cc', p_cc);
    v_bcc := outbox.address_list('bcc', p_bcc);
    perform outbox.check_recipient_count('recipients', cardinality(v_to) + cardinality(v_cc) + cardinality(v_bcc));
    if p_has_attachment then
        if p_attachment is null then
            perform outbox.raise_invalid('attachment', 'is required', 'Pass the attachment content, or call outbox_mail.send.');
        end if;
        if p_att_mime_type is not null then
            v_name := outbox.check_mime_type('att_mime_type', p_att_mime_type);
        end if;
        v_name := outbox.check_file_name('att_filename', p_att_filename);
    end if;
    v_expires_at := outbox.expiry(p_expires_at, p_expires_after, null);
    v_headers := outbox.check_headers(p_headers);
    v_size := outbox.check_size(coalesce(octet_length(p_message), 0) + coalesce(octet_length(p_attachment), 0)
        + coalesce(octet_length(p_sender), 0) + coalesce(octet_length(p_replyto), 0) + coalesce(octet_length(p_subject), 0)
        + coalesce(octet_length(array_to_string(v_to || v_cc || v_bcc, '')), 0)
        + case when p_has_attachment then coalesce(octet_length(v_name), 0) else 0 end + coalesce(octet_length(v_headers), 0), 'the mail');

    v_id := outbox.new_message('mime', p_sender, p_subject,
        case when v_html then null else p_message end,
        case when v_html then p_message end,
        p_replyto, p_priority, null, null, null, true, v_expires_at, v_headers);
    insert into outbox.outbox_recipient (message_id, kind, address)
    select v_id, 'to', a from unnest(v_to) a
    union all select v_id, 'cc', a from unnest(v_cc) a
    union all select v_id, 'bcc', a from unnest(v_bcc) a;
    if p_has_attachment then
        insert into outbox.outbox_attachment (message_id, file_name, mime_type, is_inline, content)
        values (v_id, v_name, coalesce(p_att_mime_type, 'application/octet-stream'), coalesce(p_att_inline, true), p_attachment);
    end if;
    perform outbox.announce(v_id);
    return v_id;
end $$;

------------------------------------------------------------------------------------------------
-- 1. UTL_MAIL's calls: the same parameter names, order and defaults. UTL_MAIL declares
--    "attachment" without a default after parameters that have one; PostgreSQL cannot, so here
--    it defaults to null and a missing attachment is reported by name. Three parameters UTL_MAIL
--    lacks come last: expires_at or expires_after (not sent after that time: the mail ends
--    'expired'), and headers (extra header lines, "Name: value" each, e.g. List-Unsubscribe).
------------------------------------------------------------------------------------------------

drop function if exists outbox_mail.send(text, text, text, text, text, text, text, integer, text);
drop function if exists outbox_mail.send_attach_raw(text, text, text, text, text, text, text, integer, bytea, boolean, text, text, text);
drop function if exists outbox_mail.send_attach_varchar2(text, text, text, text, text, text, text, integer, text, boolean, text, text, text);

create or replace function outbox_mail.send(
    sender     text,
    recipients text,
    cc         text    default null,
    bcc        text    default null,
    subject    text    default null,
    message    text    default null,
    mime_type  text    default 'text/plain; charset=us-ascii',
    priority   integer default 3,
    replyto    text    default null,
    expires_at    timestamptz default null,
    expires_after interval    default null,
    headers       text        default null)
returns bigint language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    return outbox.send_simple(sender, recipients, cc, bcc, subject, message, mime_type, priority, replyto, null, null, null, null, false,
        expires_at, expires_after, headers);
end $$;

create or replace function outbox_mail.send_attach_raw(
    sender        text,
    recipients    text,
    cc            text    default null,
    bcc           text    default null,
    subject       text    default null,
    message       text    default null,
    mime_type     text    default 'text/plain; charset=us-ascii',
    priority      integer default 3,
    attachment    bytea   default null,
    att_inline    boolean default true,
    att_mime_type text    default 'application/octet',
    att_filename  text    default null,
    replyto       text    default null,
    expires_at    timestamptz default null,
    expires_after interval    default null,
    headers       text        default null)
returns bigint language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    return outbox.send_simple(sender, recipients, cc, bcc, subject, message, mime_type, priority, replyto,
        attachment, att_inline, att_mime_type, att_filename, true, expires_at, expires_after, headers);
end $$;

create or replace function outbox_mail.send_attach_varchar2(
    sender        text,
    recipients    text,
    cc            text    default null,
    bcc           text    default null,
    subject       text    default null,
    message       text    default null,
    mime_type     text    default 'text/plain; charset=us-ascii',
    priority      integer default 3,
    attachment    text    default null,
    att_inline    boolean default true,
    att_mime_type text    default 'text/plain; charset=us-ascii',
    att_filename  text    default null,
    replyto       text    default null,
    expires_at    timestamptz default null,
    expires_after interval    default null,
    headers       text        default null)
returns bigint language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    return outbox.send_simple(sender, recipients, cc, bcc, subject, message, mime_type, priority, replyto,
        convert_to(attachment, 'UTF8'), att_inline,
        regexp_replace(att_mime_type, 'charset\s*=\s*[^;]*', 'charset=utf-8', 'i'), att_filename, true, expires_at, expires_after, headers);
end $$;

------------------------------------------------------------------------------------------------
-- 2. The builder, for what UTL_MAIL cannot do: several attachments of any size, text + HTML
--    bodies, inline images (content_id), a send-after time, an idempotency key. The mail is a
--    draft, never sent, until enqueue(mail_id).
------------------------------------------------------------------------------------------------

-- profile: which entry of the worker's Outbox:Profiles sends it (its accounts, in order);
-- null: the profile whose SenderDomains has the sender's domain, else "default".
drop function if exists outbox_mail.create_mail(text, text, text, text, text, integer, timestamptz, text);
drop function if exists outbox_mail.create_mail(text, text, text, text, text, integer, timestamptz, text, text);

create or replace function outbox_mail.create_mail(
    sender          text,
    subject         text        default null,
    text_body       text        default null,
    html_body       text        default null,
    replyto         text        default null,
    priority        integer     default 3,
    send_after      timestamptz default null,
    idempotency_key text        default null,
    profile         text        default null,
    expires_at      timestamptz default null,
    expires_after   interval    default null,
    headers         text        default null)
returns bigint language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    return outbox.new_message('mime', sender, subject, text_body, html_body, replyto, priority, send_after, idempotency_key, profile, false,
        outbox.expiry(expires_at, expires_after, send_after), outbox.check_headers(headers));
end $$;

-- One more extra header for a draft (see section 1 for what headers are refused).
create or replace function outbox_mail.add_header(
    mail_id bigint,
    name    text,
    value   text)
returns void language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    v_line text;
begin
    if not outbox.lock_draft(mail_id, 'mime') then
        return;
    end if;
    v_line := outbox.check_header_line('name', 'value', name, value);
    update outbox.outbox_message m
       set headers = outbox.check_headers_size(case when m.headers is null then v_line else m.headers || E'\n' || v_line end)
     where m.id = mail_id;
    perform outbox.check_stored_size(mail_id);
end $$;

-- kind: 'to', 'cc' or 'bcc'. recipient may hold several addresses separated by commas.
create or replace function outbox_mail.add_recipient(
    mail_id   bigint,
    recipient text,
    kind      text default 'to')
returns void language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    if not outbox.lock_draft(mail_id, 'mime') then
        return;
    end if;
    if coalesce(kind, '') not in ('to', 'cc', 'bcc') then
        perform outbox.raise_invalid('kind', format('must be to, cc or bcc, got "%s"', kind), 'Leave it out for to.');
    end if;
    if outbox.add_recipients(mail_id, kind, 'recipient', recipient) = 0 then
        perform outbox.raise_invalid('recipient', 'is empty', 'Pass an address such as user@example.com.');
    end if;
    perform outbox.check_stored_recipients('recipient', mail_id);
    perform outbox.check_stored_size(mail_id);
end $$;

create or replace function outbox_mail.set_body(
    mail_id   bigint,
    text_body text,
    html_body text default null)
returns void language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    if not outbox.lock_draft(mail_id, 'mime') then
        return;
    end if;
    perform outbox.refuse_templated(mail_id, 'set_body');
    update outbox.outbox_message m set text_body = set_body.text_body, html_body = set_body.html_body
     where m.id = mail_id;
    perform outbox.check_stored_size(mail_id);
end $$;

-- content_id makes the part inline in a multipart/related body: reference it from the HTML
-- as <img src="cid:CONTENT_ID">. Returns the attachment's id.
create or replace function outbox_mail.add_attachment(
    mail_id    bigint,
    filename   text,
    content    bytea,
    mime_type  text    default 'application/octet-stream',
    content_id text    default null,
    inline     boolean default false)
returns bigint language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    v_id   bigint;
    v_name text;
begin
    if not outbox.lock_draft(mail_id, 'mime') then
        return null;
    end if;
    if content is null then
        perform outbox.raise_invalid('content', 'is required', 'Pass the attachment bytes; an empty file is ''''::bytea.');
    end if;
    v_name := outbox.check_file_name('filename', filename);
    perform outbox.check_mime_type('mime_type', mime_type);
    perform outbox.check_header('content_id', content_id);
    insert into outbox.outbox_attachment (message_id, file_name, mime_type, content_id, is_inline, content)
    values (mail_id, v_name, mime_type, nullif(btrim(content_id, ' <>'), ''),
            coalesce(inline, false) or content_id is not null, content)
    returning id into v_id;
    perform outbox.check_stored_size(mail_id);
    return v_id;
end $$;

create or replace function outbox_mail.enqueue(mail_id bigint)
returns void language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    if not outbox.lock_draft(mail_id, 'mime') then
        return;
    end if;
    perform outbox.require_recipient(mail_id, 'Add one with outbox_mail.add_recipient before enqueue.');
    perform outbox.queue(mail_id);
end $$;

------------------------------------------------------------------------------------------------
-- 3. UTL_SMTP's shape, for procedures that write their own headers and MIME body:
--      open_connection + helo + mail  ->  open_mail(sender)
--      rcpt                           ->  rcpt(mail_id, recipient)
--      write_data / write_raw_data    ->  write_data(mail_id, text) / write_raw_data(mail_id, bytea)
--      close_data + quit              ->  close_mail(mail_id)
--    The worker sends the text as written to the rcpt addresses, adding only a Date and a
--    Message-ID header when the text has none. Authentication and TLS are the worker's job.
------------------------------------------------------------------------------------------------

-- expires_at / expires_after: not sent after that time (the mail ends 'expired').
drop function if exists outbox_mail.open_mail(text);

create or replace function outbox_mail.open_mail(
    sender        text,
    expires_at    timestamptz default null,
    expires_after interval    default null)
returns bigint language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    return outbox.new_message('raw', sender, null, null, null, null, 3, null, null, null, false, outbox.expiry(expires_at, expires_after, null));
end $$;

create or replace function outbox_mail.rcpt(mail_id bigint, recipient text)
returns void language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    if not outbox.lock_draft(mail_id, 'raw') then
        return;
    end if;
    if coalesce(btrim(recipient), '') = '' then
        perform outbox.raise_invalid('recipient', 'is required', 'Pass one address per rcpt call.');
    end if;
    insert into outbox.outbox_recipient (message_id, kind, address)
    values (mail_id, 'envelope', outbox.check_address('recipient', recipient));
    perform outbox.check_stored_recipients('recipient', mail_id);
    perform outbox.check_stored_size(mail_id);
end $$;

create or replace function outbox_mail.write_raw_data(mail_id bigint, data bytea)
returns void language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    if not outbox.lock_draft(mail_id, 'raw') then
        return;
    end if;
    if data is not null and length(data) > 0 then
        insert into outbox.outbox_raw_part (message_id, part_no, content)
        select mail_id, coalesce(max(p.part_no), 0) + 1, data
          from outbox.outbox_raw_part p where p.message_id = mail_id;
        perform outbox.check_stored_size(mail_id);
    end if;
end $$;

create or replace function outbox_mail.write_data(mail_id bigint, data text)
returns void language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    perform outbox_mail.write_raw_data(mail_id, convert_to(data, 'UTF8'));
end $$;

-- The Subject header of a raw mail as its caller wrote it, so that list and show (and a filter
-- on the subject) see one. Reads at most 64 KiB from the first parts, as Latin-1 so that any
-- bytes do; folding and RFC 2047 encoded-words are undone for display by the program.
create or replace function outbox.raw_subject(p_id bigint)
returns text language plpgsql stable set search_path = pg_catalog, pg_temp as $$
declare
    v_bytes bytea;
    v_nul   integer;
    v_head  text;
begin
    select substring(string_agg(p.content, ''::bytea order by p.part_no) from 1 for 65536)
      into v_bytes
      from (select substring(r.content from 1 for 65536) as content, r.part_no
              from outbox.outbox_raw_part r where r.message_id = p_id order by r.part_no limit 64) p;
    -- Text cannot hold a NUL; a header with one fails at send anyway, so the header read ends there.
    v_nul := position('\x00'::bytea in v_bytes);
    if v_nul > 0 then
        v_bytes := substring(v_bytes from 1 for v_nul - 1);
    end if;
    v_head := convert_from(v_bytes, 'LATIN1');
    -- The header ends at the first empty line.
    v_head := coalesce(substring(v_head from '^(.*?)\r?\n\r?\n'), v_head);
    return left(substring(v_head from '(?:^|\n)[Ss][Uu][Bb][Jj][Ee][Cc][Tt][ \t]*:[ \t]*([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)'), 998);
end $$;

create or replace function outbox_mail.close_mail(mail_id bigint)
returns void language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    if not outbox.lock_draft(mail_id, 'raw') then
        return;
    end if;
    perform outbox.require_recipient(mail_id, 'Call outbox_mail.rcpt at least once before close_mail.');
    if not exists (select 1 from outbox.outbox_raw_part p where p.message_id = mail_id) then
        perform outbox.raise_invalid('data', format('mail %s has no text', mail_id),
            'Write the headers and body with outbox_mail.write_data before close_mail.');
    end if;
    update outbox.outbox_message m set subject = outbox.raw_subject(mail_id) where m.id = mail_id;
    perform outbox.queue(mail_id);
end $$;

------------------------------------------------------------------------------------------------
-- 4. Templates (outbox.outbox_template, Liquid): HTML mail without building strings.
--      send_template(sender, recipients, template, data jsonb, ...)   one call, queued at once
--      set_template(mail_id, template, data jsonb)                     in the builder, with attachments
--    The template is looked up in the caller's transaction: an unknown name is refused here.
--    The mail keeps a copy of the template's subject and bodies as they are now, and the data;
--    the worker renders them when it sends, so a template changed later changes only mails
--    enqueued later. A mail whose data does not fit its template (a variable it lacks) ends
--    'failed' with a reason naming the template, the line and the variable. See docs/templates.md.
------------------------------------------------------------------------------------------------

-- The template row for a name and a locale: the row of that locale, else of its language
-- ('de' for 'de-CH'), else the row without a locale.
create or replace function outbox.find_template(p_name text, p_locale text)
returns outbox.outbox_template language plpgsql stable as $$
declare
    v_row outbox.outbox_template;
begin
    if coalesce(btrim(p_name), '') = '' then
        perform outbox.raise_invalid('template', 'is required',
            'Pass the name of a row of outbox.outbox_template, e.g. template => ''order_confirmation''.');
    end if;
    select * into v_row from outbox.outbox_template t
     where t.name = p_name
       and (t.locale is null or lower(t.locale) = lower(p_locale) or lower(t.locale) = lower(split_part(p_locale, '-', 1)))
     order by case when lower(t.locale) = lower(p_locale) then 0 when t.locale is not null then 1 else 2 end
     limit 1;
    if not found then
        perform outbox.raise_invalid('template', format('no template named "%s"%s', left(p_name, 100),
                case when p_locale is not null then format(' for locale %s nor a default one', left(p_locale, 35)) else '' end),
            'Put it first (outbox template put, or an INSERT into outbox.outbox_template); outbox template list shows them.');
    end if;
    return v_row;
end $$;

-- A template's data: a JSON object of at most 262144 bytes (Outbox.Core's TemplateLimits.MaxDataBytes).
-- Returns it as text, the form the worker reads.
create or replace function outbox.check_template_data(p_data jsonb)
returns text language plpgsql immutable as $$
declare
    v_text text := coalesce(p_data, '{}'::jsonb)::text;
begin
    if jsonb_typeof(coalesce(p_data, '{}'::jsonb)) <> 'object' then
        perform outbox.raise_invalid('data', format('must be a JSON object, got %s', jsonb_typeof(p_data)),
            'Pass an object such as ''{"order": {"id": 42}}''::jsonb, or jsonb_build_object(...).');
    end if;
    if octet_length(v_text) > 262144 then
        perform outbox.raise_invalid('data', format('is %s bytes, more than the 262144 allowed', octet_length(v_text)),
            'Pass only the values the template uses.');
    end if;
    return v_text;
end $$;

-- A mail rendered from a template takes its subject and bodies from it.
create or replace function outbox.refuse_templated(p_id bigint, p_call text)
returns void language plpgsql as $$
declare
    v_template text;
begin
    select template into v_template from outbox.outbox_message where id = p_id;
    if v_template is not null then
        perform outbox.raise_invalid('mail_id', format('mail %s is rendered from template %s, which gives its subject and bodies', p_id, v_template),
            format('Leave out %s, or make the mail without set_template.', p_call));
    end if;
end $$;

drop function if exists outbox_mail.send_template(text, text, text, jsonb, text, text, text, text, integer, timestamptz, text, text);

create or replace function outbox_mail.send_template(
    sender          text,
    recipients      text,
    template        text,
    data            jsonb       default '{}',
    cc              text        default null,
    bcc             text        default null,
    replyto         text        default null,
    locale          text        default null,
    priority        integer     default 3,
    send_after      timestamptz default null,
    idempotency_key text        default null,
    profile         text        default null,
    expires_at      timestamptz default null,
    expires_after   interval    default null,
    headers         text        default null)
returns bigint language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    v_template outbox.outbox_template;
    v_data     text;
    v_id       bigint;
begin
    if coalesce(btrim(recipients), '') = '' then
        perform outbox.raise_invalid('recipients', 'is required', 'Pass at least one address, e.g. recipients => ''customer@example.com''.');
    end if;
    v_template := outbox.find_template(template, locale);
    v_data := outbox.check_template_data(data);
    v_id := outbox.new_message('mime', sender, v_template.subject, v_template.text_body, v_template.html_body,
        replyto, priority, send_after, idempotency_key, profile, false,
        outbox.expiry(expires_at, expires_after, send_after), outbox.check_headers(headers));
    -- A key this role used before: its mail, already queued, is the answer.
    if not outbox.lock_draft(v_id, 'mime') then
        return v_id;
    end if;
    update outbox.outbox_message m
       set template = v_template.name, template_locale = v_template.locale, template_data = v_data
     where m.id = v_id;
    perform outbox.add_recipients(v_id, 'to', 'recipients', recipients);
    perform outbox.add_recipients(v_id, 'cc', 'cc', cc);
    perform outbox.add_recipients(v_id, 'bcc', 'bcc', bcc);
    perform outbox.check_stored_recipients('recipients', v_id);
    perform outbox.require_recipient(v_id, 'Pass at least one address, e.g. recipients => ''customer@example.com''.');
    perform outbox.queue(v_id);
    return v_id;
end $$;

-- Replaces the draft's subject and bodies with the template's; attachments and recipients stay.
create or replace function outbox_mail.set_template(
    mail_id  bigint,
    template text,
    data     jsonb default '{}',
    locale   text  default null)
returns void language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    v_template outbox.outbox_template;
    v_data     text;
begin
    if not outbox.lock_draft(mail_id, 'mime') then
        return;
    end if;
    v_template := outbox.find_template(template, locale);
    v_data := outbox.check_template_data(data);
    update outbox.outbox_message m
       set subject = v_template.subject, text_body = v_template.text_body, html_body = v_template.html_body,
           template = v_template.name, template_locale = v_template.locale, template_data = v_data
     where m.id = mail_id;
    perform outbox.check_stored_size(mail_id);
end $$;

-- The id of the mail this session queued last (send*, enqueue or close_mail), or null. The
-- functions above return it too; this is for code written against Oracle's procedures.
-- The setting is the session's to change (SET outbox.last_mail_id = ...), so what it holds is
-- answered only when it names a mail of this login role.
create or replace function outbox_mail.last_mail_id()
returns bigint language sql stable security definer set search_path = pg_catalog, pg_temp as $$
    select m.id from outbox.outbox_message m
     where m.id = (select case when v ~ '^[0-9]{1,18}$' then v::bigint end
                     from coalesce(current_setting('outbox.last_mail_id', true), '') v)
       and m.created_by = session_user
$$;

------------------------------------------------------------------------------------------------
-- 5. What became of the caller's own mail
------------------------------------------------------------------------------------------------
-- Only mails this login role made (created_by = session_user); another role's id answers no row,
-- as a missing id does. No bodies, attachments or template data: what the caller wrote it has.
--   select * from outbox_mail.mail_status(outbox_mail.last_mail_id());
--   select * from outbox_mail.mail_recipients(42);

-- expires_at came with schema version 7. A function's result columns cannot change in place:
-- an older install's mail_status (without it) is dropped first, and only that one, so running
-- this script again changes nothing (03_roles.sql grants it again).
do $$
begin
    if exists (select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                where n.nspname = 'outbox_mail' and p.proname = 'mail_status'
                  and not ('expires_at' = any (p.proargnames))) then
        drop function outbox_mail.mail_status(bigint);
    end if;
end $$;

create or replace function outbox_mail.mail_status(mail_id bigint)
returns table (id bigint, status text, created_at timestamptz, queued_at timestamptz, sent_at timestamptz,
               attempt_count integer, last_attempt_at timestamptz, smtp_code integer, smtp_reply text, last_error text,
               expires_at timestamptz)
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
    select m.id, m.status, m.created_at, m.queued_at, m.sent_at, m.attempt_count, m.last_attempt_at, m.smtp_code, m.smtp_reply, m.last_error,
           m.expires_at
      from outbox.outbox_message m
     where m.id = mail_status.mail_id and m.created_by = session_user
$$;

-- status: accepted, deferred (tried again later), rejected (with the server's reply), or null (not tried yet).
create or replace function outbox_mail.mail_recipients(mail_id bigint)
returns table (kind text, address text, status text, smtp_reply text)
language sql stable security definer set search_path = pg_catalog, pg_temp as $$
    select r.kind, r.address, r.status, r.smtp_reply
      from outbox.outbox_recipient r
      join outbox.outbox_message m on m.id = r.message_id
     where m.id = mail_recipients.mail_id and m.created_by = session_user
     order by r.id
$$;

------------------------------------------------------------------------------------------------
-- 6. Pausing and resuming sending (operators only)
------------------------------------------------------------------------------------------------
-- In schema outbox, not outbox_mail, whose functions every outbox_sender may call: 03_roles.sql
-- grants these to outbox_worker alone. The same as `outbox pause` / `outbox resume`, recorded in
-- the caller's name (session_user). Each worker stops sending the paused mail between mails
-- within its poll interval, and hands back what it holds of it, uncharged.
--   select outbox.pause();                                   -- all sending
--   select outbox.pause('bulk', 'provider incident');         -- one profile's mail
--   select outbox.resume();                                  -- everything paused
--   select outbox.resume('bulk');

create or replace function outbox.pause(profile text default null, reason text default null)
returns text language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    v_scope text := coalesce(pause.profile, '*');
    v_row outbox.outbox_pause;
begin
    if pause.profile is not null and pause.profile !~ '^[A-Za-z0-9_.-]{1,100}$' then
        raise exception using errcode = '22023', message = format('profile: "%s" is not a profile name', left(pause.profile, 60)),
            hint = 'Give the name of an entry of Outbox:Profiles (letters, digits, _ . -, at most 100), or default; null pauses all sending.';
    end if;
    if length(pause.reason) > 500 or pause.reason ~ '[[:cntrl:]]' then
        raise exception using errcode = '22023', message = format('reason: is %s characters or holds control characters', length(pause.reason)),
            hint = 'Say why in one line of at most 500 characters.';
    end if;
    -- A pause in force stands as it is (its author and time stay true); a scope resumed earlier
    -- is paused again in its row.
    insert into outbox.outbox_pause as p (scope, paused_by, paused_at, reason)
    values (v_scope, session_user, now(), nullif(btrim(pause.reason), ''))
    on conflict (scope) do update
        set paused_by = excluded.paused_by, paused_at = excluded.paused_at, reason = excluded.reason, resumed_by = null, resumed_at = null
      where p.resumed_at is not null;
    select * into v_row from outbox.outbox_pause p where p.scope = v_scope;
    return format('%s paused by %s at %s%s', case when v_scope = '*' then 'all sending' else format('profile "%s"', v_scope) end,
                  v_row.paused_by, to_char(v_row.paused_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                  coalesce(format(' (%s)', v_row.reason), ''));
end $$;

-- Resumes one profile, or (null) everything paused; says what, or that nothing was paused.
create or replace function outbox.resume(profile text default null)
returns text language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    v_resumed text;
begin
    with resumed as (
        update outbox.outbox_pause p set resumed_by = session_user, resumed_at = now()
         where p.resumed_at is null and (resume.profile is null or p.scope = resume.profile)
        returning p.scope)
    select string_agg(case when scope = '*' then 'all sending' else format('profile "%s"', scope) end, ', ' order by scope)
      into v_resumed from resumed;
    if v_resumed is null then
        return case when resume.profile is null then 'nothing is paused' else format('profile "%s" is not paused', left(resume.profile, 100)) end;
    end if;
    -- Workers listening for new mail look at once.
    perform pg_notify('outbox_mail', '');
    return 'resumed ' || v_resumed;
end $$;
