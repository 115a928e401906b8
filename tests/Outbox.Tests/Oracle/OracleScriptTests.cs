using System.Text.RegularExpressions;
using Outbox.Storage;
using Outbox.Storage.Dialects;

namespace Outbox.Tests.Oracle;

/// <summary>
/// What can be checked of the Oracle scripts without an Oracle server (none runs here): that
/// they match PostgreSQL's and SQLite's (tables, columns, views, API), that OUTBOX_MAIL's calls
/// have UTL_MAIL's signatures, and that every statement is one ADO.NET can run.
/// </summary>
public sealed class OracleScriptTests
{
    private static readonly ScriptCatalog Postgres = ScriptCatalog.Of("postgresql");
    private static readonly ScriptCatalog Sqlite = ScriptCatalog.Of("sqlite");
    private static readonly ScriptCatalog Oracle = ScriptCatalog.Of("oracle");

    [Fact]
    public void Every_table_and_column_exists_in_all_three_databases_in_the_same_order()
    {
        Assert.Equal(
            ["outbox_attachment", "outbox_attempt", "outbox_connection_slot", "outbox_message", "outbox_pause", "outbox_rate_account", "outbox_rate_slot", "outbox_raw_part", "outbox_recipient", "outbox_setting", "outbox_template", "outbox_worker"],
            Postgres.Tables.Keys.Order());
        foreach (var (table, columns) in Postgres.Tables)
        {
            Assert.True(Sqlite.Tables.ContainsKey(table), $"sqlite has no table {table}");
            Assert.True(Oracle.Tables.ContainsKey(table), $"oracle has no table {table}");
            Assert.Equal(columns, Sqlite.Tables[table]);
            Assert.Equal(columns, Oracle.Tables[table]);
        }

        Assert.Equal(Postgres.Tables.Keys.Order(), Sqlite.Tables.Keys.Order());
        Assert.Equal(Postgres.Tables.Keys.Order(), Oracle.Tables.Keys.Order());
    }

    [Fact]
    public void The_dba_views_exist_in_all_three_databases_with_the_same_columns()
    {
        Assert.Equal(["outbox_failed", "outbox_queue_summary"], Postgres.Views.Keys.Order());
        Assert.Equal(["status", "messages", "oldest_at", "oldest_age_seconds"], Postgres.Views["outbox_queue_summary"]);
        foreach (var (view, columns) in Postgres.Views)
        {
            Assert.Equal(columns, Sqlite.Views[view]);
            Assert.Equal(columns, Oracle.Views[view]);
        }
    }

    // A caller reads the same state of its mail on both databases: the columns of PostgreSQL's
    // mail_status, in order, are those MAIL_STATUS's cursor selects (OracleMailState reads them).
    [Fact]
    public void Mail_status_gives_the_same_columns_on_oracle_and_postgresql()
    {
        var postgres = Regex.Match(Postgres.Text, @"function outbox_mail\.mail_status\(mail_id bigint\)\s*returns table \(([^;]*?)\)\s*language", RegexOptions.Singleline);
        var oracle = Regex.Match(Oracle.Text, @"function mail_status\(mail_id in number\) return sys_refcursor is.*?select (.*?)\s+from outbox_message m", RegexOptions.Singleline);
        Assert.True(postgres.Success && oracle.Success, "mail_status not found in the scripts");

        var postgresColumns = postgres.Groups[1].Value.Split(',').Select(c => c.Trim().Split(' ')[0]).ToList();
        var oracleColumns = oracle.Groups[1].Value.Split(',').Select(c => c.Trim().Replace("m.", string.Empty, StringComparison.Ordinal)).ToList();
        Assert.Contains("expires_at", postgresColumns);
        Assert.Equal(postgresColumns, oracleColumns);
    }

    [Fact]
    public void Every_outbox_mail_call_exists_on_oracle_and_postgresql_with_the_same_parameters()
    {
        var postgres = Postgres.PostgresApi();
        // PostgreSQL's bytea and text have no 32 KB limit: there send_attach_raw / _varchar2 take any
        // size, and add_attachment takes a whole file in one call (Npgsql streams the parameter), so
        // it needs no attachment in pieces (open_attachment / write_attachment).
        var oracle = Oracle.OracleApi().Where(c => c.Key is not ("send_attach_blob" or "send_attach_clob" or "open_attachment" or "write_attachment")).ToDictionary();
        Assert.Contains("send", postgres.Keys);
        Assert.Equal(postgres.Keys.Order(), oracle.Keys.Order());
        foreach (var (name, overloads) in postgres)
        {
            Assert.True(overloads.SetEquals(oracle[name]),
                $"{name}: postgresql ({string.Join(" | ", overloads)}) vs oracle ({string.Join(" | ", oracle[name])})");
        }
    }

    // From Oracle's PL/SQL Packages and Types Reference, UTL_MAIL. Oracle declares the text
    // parameters VARCHAR2 CHARACTER SET ANY_CS; plain VARCHAR2 accepts the same arguments.
    [Theory]
    [InlineData("send", "")]
    [InlineData("send_attach_raw", "attachment in raw|att_inline in boolean default true|att_mime_type in varchar2 default 'application/octet'|att_filename in varchar2 default null")]
    [InlineData("send_attach_varchar2", "attachment in varchar2|att_inline in boolean default true|att_mime_type in varchar2 default 'text/plain; charset=us-ascii'|att_filename in varchar2 default null")]
    public void Oracle_send_calls_have_utl_mails_names_types_order_and_defaults(string name, string attachmentParameters)
    {
        string[] common =
        [
            "sender in varchar2", "recipients in varchar2", "cc in varchar2 default null", "bcc in varchar2 default null",
            "subject in varchar2 default null", "message in varchar2 default null",
            "mime_type in varchar2 default 'text/plain; charset=us-ascii'", "priority in pls_integer default 3",
        ];
        // Then what UTL_MAIL lacks, last and with defaults, so that UTL_MAIL's calls compile unchanged.
        string[] added = ["expires_at in timestamp with time zone default null", "expires_after in interval day to second default null", "headers in varchar2 default null"];
        var expected = common.Concat(attachmentParameters.Split('|', StringSplitOptions.RemoveEmptyEntries)).Append("replyto in varchar2 default null").Concat(added).ToList();

        var overloads = Oracle.OracleSubprograms().Where(s => s.Name == name).Select(s => s.Parameters).ToList();

        Assert.Contains(overloads, parameters => parameters.SequenceEqual(expected));
    }

    // Under their own names: an overload of UTL_MAIL's call would make a NULL attachment ambiguous.
    [Theory]
    [InlineData("send_attach_blob", "send_attach_raw", "attachment in raw", "attachment in blob")]
    [InlineData("send_attach_clob", "send_attach_varchar2", "attachment in varchar2", "attachment in clob")]
    public void Oracle_send_calls_of_any_size_take_utl_mails_parameters_with_a_lob(string name, string utlMailName, string small, string lob)
    {
        var subprograms = Oracle.OracleSubprograms();
        var expected = subprograms.Single(s => s.Name == utlMailName).Parameters.Select(p => p == small ? lob : p);

        Assert.Equal(expected, subprograms.Single(s => s.Name == name).Parameters);
    }

    [Fact]
    public void Every_oracle_error_code_raised_in_the_body_is_documented_in_the_specification()
    {
        var spec = SchemaInstaller.ReadScript("sql/oracle/03_outbox_mail_spec.sql");
        var body = SchemaInstaller.ReadScript("sql/oracle/04_outbox_mail_body.sql");
        var raised = Regex.Matches(body, @"fail\((-200\d\d)").Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.NotEmpty(raised);
        foreach (var code in raised)
        {
            Assert.Matches($@"--\s+{code}\s+e_\w+\s+\w", spec);
            Assert.Contains($"pragma exception_init(e_", spec, StringComparison.Ordinal);
            Assert.Matches($@"exception_init\(e_\w+, {code}\)", spec);
        }
    }

    [Fact]
    public void The_same_roles_are_made_on_oracle_and_postgresql()
    {
        foreach (var role in new[] { "outbox_sender", "outbox_worker", "outbox_reader" })
        {
            Assert.Contains(role, SchemaInstaller.ReadScript("sql/postgresql/03_roles.sql"), StringComparison.Ordinal);
            Assert.Contains($"create_role('{role}')", SchemaInstaller.ReadScript("sql/oracle/05_roles.sql"), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Install_sql_runs_every_numbered_oracle_script_in_order()
    {
        var install = SchemaInstaller.ReadScript("sql/oracle/install.sql");
        var included = Regex.Matches(install, @"^@@(\S+)$", RegexOptions.Multiline).Select(m => "sql/oracle/" + m.Groups[1].Value).ToList();
        Assert.Equal(SchemaInstaller.ScriptsOf("oracle"), included);
    }

    [Fact]
    public void Every_oracle_statement_is_one_ado_net_can_run()
    {
        var scripts = typeof(SchemaInstaller).Assembly.GetManifestResourceNames().Where(n => n.StartsWith("sql/oracle/", StringComparison.Ordinal)).ToList();
        Assert.Equal(10, scripts.Count);
        foreach (var script in scripts)
        {
            var text = SchemaInstaller.ReadScript(script);
            Assert.DoesNotContain('\r', text);
            var statements = SqlPlusScript.Split(text);
            Assert.True(statements.Count > 0 || script.EndsWith("install.sql", StringComparison.Ordinal), $"{script} has no statement");
            foreach (var statement in statements)
            {
                OracleSyntax.AssertRunnable(statement, script);
            }
        }
    }

    [Fact]
    public void The_splitter_keeps_plsql_whole_and_drops_tool_commands()
    {
        var statements = SqlPlusScript.Split("""
            -- a comment
            whenever sqlerror exit failure rollback
            define x = &1

            begin
                -- inside a block comments stay
                null;
            end;
            /
            create or replace view v as
            select 1 as one from dual
            /
            show errors
            """);

        Assert.Equal(2, statements.Count);
        Assert.StartsWith("begin", statements[0], StringComparison.Ordinal);
        Assert.Contains("-- inside a block comments stay", statements[0], StringComparison.Ordinal);
        Assert.EndsWith("end;", statements[0], StringComparison.Ordinal);
        Assert.Equal("create or replace view v as\nselect 1 as one from dual", statements[1]);
    }

    [Fact]
    public void The_splitter_refuses_a_statement_without_its_slash()
    {
        var error = Assert.Throws<FormatException>(() => SqlPlusScript.Split("begin null; end;\n"));
        Assert.Contains("no \"/\" line", error.Message, StringComparison.Ordinal);
    }
}
