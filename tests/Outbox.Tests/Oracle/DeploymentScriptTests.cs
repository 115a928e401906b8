using System.Text.RegularExpressions;
using Outbox.Storage;
using Outbox.Storage.Admin;

namespace Outbox.Tests.Oracle;

/// <summary>
/// What a deployment with separate users needs of the scripts, checked without a server: every
/// table the install scripts create is granted to the roles, dropped by the uninstall script and
/// looked for by `outbox init` / `check db`; the package keeps no state a re-install would discard;
/// code written for UTL_MAIL compiles against OUTBOX_MAIL.
/// </summary>
public sealed partial class DeploymentScriptTests
{
    private static readonly ScriptCatalog Oracle = ScriptCatalog.Of("oracle");

    public static TheoryData<string> Folders => new("postgresql", "sqlite", "oracle");

    [Theory]
    [MemberData(nameof(Folders))]
    public void Init_and_check_db_look_for_every_table_the_scripts_create(string folder)
    {
        var created = ScriptCatalog.Of(folder).Tables.Keys.Order().ToList();

        Assert.Equal(created, SchemaInstaller.RequiredTables.Order());
        Assert.Equal(created, DatabaseCheck.Tables.Select(t => t.Table).Order());
    }

    [Fact]
    public void Oracle_roles_are_granted_every_table_and_view()
    {
        var roles = SchemaInstaller.ReadScript("sql/oracle/05_roles.sql");
        var granted = Regex.Match(roles, @"where table_name in \(([^)]*)\)").Groups[1].Value;

        Assert.Equal(Oracle.Tables.Keys.Order(), Quoted().Matches(granted).Select(m => m.Groups[1].Value.ToLowerInvariant()).Order());
        Assert.Contains("grant_on_tables('select, insert, update, delete', 'outbox_worker')", roles, StringComparison.Ordinal);
        Assert.Contains("grant_on_tables('read', 'outbox_reader')", roles, StringComparison.Ordinal);
        foreach (var view in Oracle.Views.Keys)
        {
            Assert.Contains($"grant select on {view} to outbox_worker", roles, StringComparison.Ordinal);
            Assert.Contains($"grant read on {view} to outbox_reader", roles, StringComparison.Ordinal);
        }
    }

    // Pausing sending is an operator's: OUTBOX_CONTROL goes to the worker role, never to senders,
    // and an install whose OUTBOX_CONTROL did not compile is not taken for a finished one.
    [Fact]
    public void Oracle_pause_and_resume_are_granted_to_the_worker_role_alone()
    {
        var roles = SchemaInstaller.ReadScript("sql/oracle/05_roles.sql");

        Assert.Equal(["outbox_worker"], Regex.Matches(roles, @"grant execute on outbox_control to (\w+)").Select(m => m.Groups[1].Value));
        Assert.Contains("'OUTBOX_CONTROL'", SchemaInstaller.ReadScript("sql/oracle/06_schema_version.sql"), StringComparison.Ordinal);
        Assert.Matches(@"function pause\(profile varchar2 default null, reason varchar2 default null\) return varchar2;\s+function resume\(profile varchar2 default null\) return varchar2;",
            SchemaInstaller.ReadScript("sql/oracle/04_outbox_mail_body.sql"));
    }

    [Fact]
    public void Postgresql_roles_are_granted_every_table_of_schema_outbox()
    {
        var tables = SchemaInstaller.ReadScript("sql/postgresql/01_tables.sql");
        var roles = SchemaInstaller.ReadScript("sql/postgresql/03_roles.sql");

        Assert.All(CreateTable().Matches(tables), m => Assert.Equal("outbox.", m.Groups[1].Value));
        Assert.Contains("grant select, insert, update, delete on all tables in schema outbox to outbox_worker", roles, StringComparison.Ordinal);
        Assert.Contains("grant select on all tables in schema outbox to outbox_reader", roles, StringComparison.Ordinal);
    }

    [Fact]
    public void Oracle_uninstall_drops_every_object_the_install_scripts_create()
    {
        var uninstall = SchemaInstaller.ReadScript("sql/oracle/uninstall.sql");
        var dropped = DropIfThere().Matches(uninstall).Select(m => (m.Groups[1].Value, m.Groups[2].Value)).ToHashSet();
        var packages = CreatePackage().Matches(Oracle.Text).Select(m => m.Groups[1].Value.ToLowerInvariant()).Distinct();

        Assert.All(Oracle.Tables.Keys, table => Assert.Contains(("TABLE", table), dropped));
        Assert.All(Oracle.Views.Keys, view => Assert.Contains(("VIEW", view), dropped));
        Assert.All(packages, package => Assert.Contains(("PACKAGE", package), dropped));
        Assert.Contains("outbox_mail_session", packages);
        Assert.All(new[] { "outbox_sender", "outbox_worker", "outbox_reader" }, role => Assert.Contains($"drop_role('{role}')", uninstall, StringComparison.Ordinal));
    }

    // A package variable is discarded when the package is replaced, and every pooled session that
    // had used it fails its next call once (ORA-04068). Only OUTBOX_MAIL_SESSION, created once, has one.
    [Theory]
    [InlineData("sql/oracle/03_outbox_mail_spec.sql", "create or replace package outbox_mail authid definer as")]
    [InlineData("sql/oracle/04_outbox_mail_body.sql", "create or replace package body outbox_mail as")]
    public void Outbox_mail_declares_no_package_variable(string script, string start)
    {
        var text = SchemaInstaller.ReadScript(script);
        var package = text[text.IndexOf(start, StringComparison.Ordinal)..text.IndexOf("end outbox_mail;", StringComparison.Ordinal)];

        Assert.DoesNotMatch(PackageVariable(), package);
        Assert.Contains("create package outbox_mail_session", SchemaInstaller.ReadScript("sql/oracle/03_outbox_mail_spec.sql"), StringComparison.Ordinal);
    }

    // Code behind the UTL_MAIL synonym that names these must compile (PLS-00302 otherwise).
    [Theory]
    [InlineData(@"invalid_argument\s+exception;\s*pragma exception_init\(invalid_argument, -29261\);")]
    [InlineData(@"invalid_priority\s+exception;\s*pragma exception_init\(invalid_priority, -44101\);")]
    [InlineData(@"invalid_argument_errcode\s+constant pls_integer := -29261;")]
    [InlineData(@"invalid_priority_errcode\s+constant pls_integer := -44101;")]
    public void The_specification_declares_utl_mails_exceptions_and_constants(string declaration)
    {
        Assert.Matches(declaration, SchemaInstaller.ReadScript("sql/oracle/03_outbox_mail_spec.sql"));
    }

    // An untyped NULL argument matches every overload, which does not compile (PLS-00307):
    // UTL_MAIL's calls have exactly one form each, as in UTL_MAIL.
    [Theory]
    [InlineData("send")]
    [InlineData("send_attach_raw")]
    [InlineData("send_attach_varchar2")]
    public void Utl_mails_calls_are_not_overloaded(string name)
    {
        Assert.Single(Oracle.OracleSubprograms(), s => s.Name == name);
    }

    // A DBA may rename a constraint: the upgrade finds the check to widen by its condition, and
    // drops it under the name it has, so it neither fails with ORA-02443 nor leaves two checks.
    [Fact]
    public void Oracle_upgrade_widens_a_check_found_by_its_condition_not_its_name()
    {
        var tables = SchemaInstaller.ReadScript("sql/oracle/01_tables.sql");
        var widen = tables[tables.IndexOf("procedure widen_check", StringComparison.Ordinal)..tables.IndexOf("procedure create_index", StringComparison.Ordinal)];

        Assert.Contains("drop constraint \"' || c.constraint_name || '\"'", widen, StringComparison.Ordinal);
        Assert.DoesNotContain("drop constraint ' || p_name", widen, StringComparison.Ordinal);
        Assert.DoesNotContain("constraint_name = upper(p_name)", widen, StringComparison.Ordinal);
        var calls = Regex.Matches(tables, @"widen_check\('(\w+)', '\w+', '(\w+)', '\w+',\s*q'\[(\w+) in \(");
        Assert.Equal(3, calls.Count);
        foreach (Match call in calls)
        {
            Assert.Equal(call.Groups[2].Value, call.Groups[3].Value);
            Assert.Contains(call.Groups[2].Value, Oracle.Tables[call.Groups[1].Value]);
        }
    }

    // install.sql's parts set DEFINE OFF; in the same session &1 would be taken literally.
    [Theory]
    [InlineData("sql/oracle/grant_to_user.sql")]
    [InlineData("sql/oracle/utl_mail_synonym.sql")]
    public void Scripts_with_arguments_switch_substitution_on_first(string script)
    {
        var text = SchemaInstaller.ReadScript(script);
        var on = Regex.Match(text, @"^set define on$", RegexOptions.Multiline);

        Assert.True(on.Success, $"{script} does not set define on");
        Assert.True(on.Index < text.IndexOf("&1", StringComparison.Ordinal), $"{script} uses &1 before set define on");
    }

    [GeneratedRegex(@"'([A-Za-z_]+)'")]
    private static partial Regex Quoted();

    [GeneratedRegex(@"create table (?:if not exists )?(\w+\.)?\w+\s*\(", RegexOptions.IgnoreCase)]
    private static partial Regex CreateTable();

    [GeneratedRegex(@"drop_if_there\('(\w+)', '(\w+)'")]
    private static partial Regex DropIfThere();

    [GeneratedRegex(@"create (?:or replace )?package (?:body )?(\w+)", RegexOptions.IgnoreCase)]
    private static partial Regex CreatePackage();

    // A declaration at the package's own level (four spaces in) that is neither a subprogram,
    // an exception, a constant nor a pragma.
    [GeneratedRegex(@"^ {4}(?!procedure\b|function\b|begin\b|end\b|is\b|pragma\b|return\b|--)\w+\s+(?!exception\b|constant\b)[\w.%()]+[^;\n]*;", RegexOptions.Multiline)]
    private static partial Regex PackageVariable();
}
