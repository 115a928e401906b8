using System.Data;
using System.Text.RegularExpressions;
using Outbox.Core.Validation;
using Outbox.Storage;
using Outbox.Storage.Admin;
using Outbox.Storage.Dialects;

namespace Outbox.Tests.Oracle;

/// <summary>
/// An install that stopped is not taken for a finished one: the schema version is written last,
/// once the package compiled, and `outbox init` / `check db` report a package with errors (the
/// first line of USER_ERRORS) as not installed. Through the ODP.NET stand-in, which runs the
/// shipped statements as `outbox init` sends them.
/// </summary>
public sealed class OracleInstallTests
{
    private const string Error = "OUTBOX_MAIL package body line 612: PLS-00231: function 'RAW_SUBJECT' may not be used in SQL";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void The_schema_version_is_written_only_by_the_last_script_after_the_compile_check()
    {
        var scripts = SchemaInstaller.ScriptsOf("oracle");
        var writers = scripts.Where(s => SchemaInstaller.ReadScript(s).Contains("'schema_version'", StringComparison.Ordinal)).ToList();

        Assert.Equal([scripts[^1]], writers);
        var last = SchemaInstaller.ReadScript(scripts[^1]);
        var check = last.IndexOf("from user_errors", StringComparison.Ordinal);
        Assert.True(check > 0 && check < last.IndexOf("merge into outbox_setting", StringComparison.Ordinal), "the version must be written after USER_ERRORS is found empty");
        Assert.Matches(@"'schema_version' as name, '" + DatabaseCheck.ExpectedSchemaVersion + "'", last);
    }

    // A copy of the database keeps the row: running the scripts on it must not adopt it.
    [Fact]
    public void The_install_records_the_identity_the_worker_reads_and_never_overwrites_it()
    {
        var last = SchemaInstaller.ReadScript(SchemaInstaller.ScriptsOf("oracle")[^1]);
        var merge = last[last.IndexOf("'database_identity' as name", StringComparison.Ordinal)..];
        merge = merge[..merge.IndexOf("commit;", StringComparison.Ordinal)];

        Assert.Contains(OracleDialect.IdentityExpression, merge, StringComparison.Ordinal);
        Assert.Contains("when not matched then insert", merge, StringComparison.Ordinal);
        Assert.DoesNotContain("when matched", merge, StringComparison.Ordinal);
        Assert.Equal($"select {OracleDialect.IdentityExpression} from dual", new OracleDialect().DatabaseIdentityQuery);
        OracleSyntax.AssertRunnable(new OracleDialect().DatabaseIdentityQuery, "the identity query");
    }

    // ODP.NET raises ORA-24344 for a CREATE that compiled with errors, and the scripts' check
    // block ORA-20000: either way init names the first error and writes no schema version.
    [Theory]
    [InlineData("create or replace package body outbox_mail", "ORA-24344: success with compilation error")]
    [InlineData("OUTBOX_MAIL did not compile", "ORA-20000: OUTBOX_MAIL did not compile: see the errors above")]
    public async Task Init_with_a_package_that_does_not_compile_says_the_outbox_is_not_installed_naming_the_first_error(string failing, string raised)
    {
        var source = new OdpStandIn
        {
            Answer = CompileErrors,
            Fail = text => text.Contains(failing, StringComparison.Ordinal) ? new OdpStandIn.OdpException(raised) : null,
        };

        var error = await Assert.ThrowsAsync<MailValidationException>(() => new SchemaInstaller(new OutboxDatabase(new OracleDialect(), source)).InstallAsync(Ct));

        Assert.Equal("Outbox:Database", error.Field);
        Assert.StartsWith($"Outbox:Database: the outbox is not installed: {Error}. Fix the cause, then run the install scripts again", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        Assert.DoesNotContain(source.Commands, c => c.Contains("'schema_version'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Init_runs_every_shipped_statement_through_odp_net_and_writes_the_version_last()
    {
        var source = new OdpStandIn();

        await new SchemaInstaller(new OutboxDatabase(new OracleDialect(), source)).InstallAsync(Ct);

        var version = source.Commands.FindIndex(c => c.Contains("'schema_version'", StringComparison.Ordinal));
        Assert.True(version > 0, "the schema version was not written");
        Assert.Equal(source.Commands.Count - 2, version);
        Assert.Equal(new OracleDialect().CompileErrorsQuery, source.Commands[^1]);
    }

    [Fact]
    public async Task Check_db_reports_a_package_with_errors_as_not_installed()
    {
        var source = new OdpStandIn { Answer = CompileErrors };

        var (steps, usable, installed) = await new DatabaseCheck(new OutboxDatabase(new OracleDialect(), source)).RunAsync(Ct);

        Assert.False(usable);
        Assert.False(installed);
        var schema = Assert.Single(steps, s => s.Step == "schema");
        Assert.False(schema.Ok);
        Assert.StartsWith($"not installed: {Error}. Fix the cause", schema.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_worker_user_reads_the_owners_compile_errors()
    {
        Assert.Contains("from user_errors e where e.name like 'OUTBOX\\_%'", new OracleDialect().CompileErrorsQuery, StringComparison.Ordinal);
        Assert.Matches(@"from all_errors e where e\.owner = upper\('OUTBOX'\) and e\.name like", new OracleDialect("OUTBOX").CompileErrorsQuery);
    }

    // USER_ERRORS as the compile errors query reads it, with a second line of text that is left out.
    private static DataTable? CompileErrors(string text)
    {
        if (!Regex.IsMatch(text, @"from (user|all)_errors e"))
        {
            return null;
        }

        var table = new DataTable();
        table.Columns.Add("error", typeof(string));
        table.Rows.Add(Error + "\nmore text of the same error");
        return table;
    }
}
