using System.Text.RegularExpressions;
using Dapper;
using Npgsql;
using Outbox.Core.Messages;
using Outbox.Core.Templates;
using Outbox.Core.Validation;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests.Templates;

/// <summary>
/// The template rules are written three times (PL/pgSQL, PL/SQL, C#): the same data is judged
/// alike by outbox_mail.send_template and OutboxClient, and the Oracle and PostgreSQL scripts hold
/// the limits, the name pattern and the choice of row that Outbox.Core uses.
/// </summary>
public sealed partial class TemplateParityTests(PostgresServer postgres)
{
    private static readonly string PostgresApi = SchemaInstaller.ReadScript("sql/postgresql/02_api.sql");
    private static readonly string PostgresTables = SchemaInstaller.ReadScript("sql/postgresql/01_tables.sql");
    private static readonly string OracleBody = SchemaInstaller.ReadScript("sql/oracle/04_outbox_mail_body.sql");
    private static readonly string OracleTables = SchemaInstaller.ReadScript("sql/oracle/01_tables.sql");

    public static TheoryData<string?, string?> DataCases => new()
    {
        { """{"order": {"id": 1}}""", null },
        { "{}", null },
        { null, null },
        { "[1, 2]", "data: must be a JSON object" },
        { "\"text\"", "data: must be a JSON object" },
        { $"{{\"x\": \"{new string('a', TemplateLimits.MaxDataBytes)}\"}}", "data: is " },
    };

    [Theory]
    [MemberData(nameof(DataCases))]
    public async Task PlPgSql_and_OutboxClient_judge_the_data_alike(string? data, string? refusal)
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await outbox.ExecuteAsync("insert into outbox.outbox_template (name, subject, text_body) values ('t', 'S', 'x')");
        var sql = Record.Exception(() => outbox.ExecuteAsync(
            "select outbox_mail.send_template('a@example.com', 'b@example.com', 't', @data::jsonb)", new { data }).GetAwaiter().GetResult());
        var client = Record.Exception(() => outbox.EnqueueAsync(new MailRequest { Sender = "a@example.com", To = ["b@example.com"], Template = "t", TemplateData = data })
            .GetAwaiter().GetResult());

        if (refusal is null)
        {
            Assert.Null(sql);
            Assert.Null(client);
            return;
        }

        Assert.StartsWith(refusal, Assert.IsType<PostgresException>(sql).MessageText, StringComparison.Ordinal);
        var invalid = Assert.IsType<MailValidationException>(client);
        Assert.Equal("data", invalid.Field);
        Assert.StartsWith(refusal, invalid.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_data_limit_is_the_same_in_every_script()
    {
        var limit = TemplateLimits.MaxDataBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);

        Assert.Contains($"octet_length(v_text) > {limit}", PostgresApi, StringComparison.Ordinal);
        Assert.Contains($"more than the {limit} allowed", PostgresApi, StringComparison.Ordinal);
        Assert.Contains($"if v_bytes > {limit} then", OracleBody, StringComparison.Ordinal);
        Assert.Contains($"more than the {limit} allowed", OracleBody, StringComparison.Ordinal);
    }

    [Fact]
    public void The_name_pattern_of_the_tables_is_the_one_outbox_core_checks()
    {
        Assert.Contains("check (name ~ '^[A-Za-z0-9_.-]{1,100}$')", PostgresTables, StringComparison.Ordinal);
        var oracle = OracleNamePattern().Match(OracleTables).Groups[1].Value;
        Assert.Equal("^[0-9A-Za-z_.-]{1,100}$", oracle.Replace("0123456789", "0-9", StringComparison.Ordinal)
            .Replace("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "A-Z", StringComparison.Ordinal).Replace("abcdefghijklmnopqrstuvwxyz", "a-z", StringComparison.Ordinal));
        foreach (var (name, valid) in new[] { ("order_confirmation", true), ("a.b-c", true), (new string('a', 101), false), ("bad name", false), ("", false) })
        {
            Assert.Equal(valid, Regex.IsMatch(name, oracle));
            Assert.Equal(valid, Record.Exception(() => TemplateNames.CheckName("name", name)) is null);
        }
    }

    [Fact]
    public void The_row_for_a_locale_is_chosen_alike_on_postgresql_oracle_and_in_dotnet()
    {
        const string Order = "case when lower({0}locale) = lower({1}) then 0 when {0}locale is not null then 1 else 2 end";
        Assert.Contains(string.Format(System.Globalization.CultureInfo.InvariantCulture, Order, "t.", "p_locale"), PostgresApi, StringComparison.Ordinal);
        Assert.Contains(string.Format(System.Globalization.CultureInfo.InvariantCulture, Order, "t.", "p_locale"), OracleBody, StringComparison.Ordinal);
        var store = File.ReadAllText(Path.Combine(RepositoryRoot(), "src", "Outbox.Storage", "Templates", "TemplateStore.cs"));
        Assert.Contains(string.Format(System.Globalization.CultureInfo.InvariantCulture, Order, "", "@Locale"), store, StringComparison.Ordinal);
        Assert.Contains("lower(t.locale) = lower(split_part(p_locale, '-', 1))", PostgresApi, StringComparison.Ordinal);
        Assert.Contains("lower(t.locale) = lower(regexp_substr(p_locale, '^[^-]+'))", OracleBody, StringComparison.Ordinal);
    }

    [Fact]
    public void Oracle_refuses_set_body_on_a_templated_draft_as_postgresql_does()
    {
        Assert.Contains("refuse_templated(mail_id, 'set_body');", OracleBody, StringComparison.Ordinal);
        Assert.Contains("perform outbox.refuse_templated(mail_id, 'set_body');", PostgresApi, StringComparison.Ordinal);
        Assert.Contains("+ nvl(dbms_lob.getlength(m.template_data), 0)", OracleBody, StringComparison.Ordinal);
        Assert.Contains("+ coalesce(octet_length(m.template_data), 0)", PostgresApi, StringComparison.Ordinal);
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Outbox.sln")))
        {
            directory = directory.Parent;
        }

        return directory!.FullName;
    }

    [GeneratedRegex(@"constraint outbox_template_name_ck\s+check \(regexp_like\(name, '([^']*)'\)\)")]
    private static partial Regex OracleNamePattern();
}
