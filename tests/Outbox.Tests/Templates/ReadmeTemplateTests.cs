using System.Text.RegularExpressions;
using Dapper;
using MimeKit;
using Npgsql;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests.Templates;

/// <summary>The README's "Templates" example, run as written: put by the owner, sent by a role granted only outbox_sender, delivered by the worker.</summary>
public sealed partial class ReadmeTemplateTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_template_example_is_put_by_the_owner_sent_by_a_sender_role_and_delivered_rendered()
    {
        var blocks = SqlBlocks("## Templates");
        Assert.Equal(2, blocks.Count);
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = TestSmtpServer.Start();
        var role = await outbox.LoginAsync("outbox_sender", "readme");

        await outbox.ExecuteAsync(blocks[0]);
        await using (var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(outbox.ConnectionString) { Username = role, Pooling = false }.ConnectionString))
        {
            await connection.ExecuteAsync(blocks[1]);
        }

        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(Ct);
        var message = MimeMessage.Load(new MemoryStream(Assert.Single(smtp.Received).Data), Ct);
        Assert.Equal("Order 42 confirmed", message.Subject);
        Assert.Equal("Hello Zoë <Ångström>,\n\n2 x TEA-01 at 10.00\n1 x MUG-07 at 11.50\nTotal: 31.50", message.TextBody!.ReplaceLineEndings("\n").TrimEnd('\n'));
        Assert.Contains("<p>Hello Zoë &lt;Ångström&gt;,</p>", message.HtmlBody, StringComparison.Ordinal);
        Assert.Contains("<tr><td>MUG-07</td><td>1</td><td>11.50</td></tr>", message.HtmlBody, StringComparison.Ordinal);
    }

    // The sql blocks of one README section, up to the next heading of its level.
    private static List<string> SqlBlocks(string heading)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Outbox.sln")))
        {
            directory = directory.Parent;
        }

        var readme = File.ReadAllText(Path.Combine(directory!.FullName, "README.md"));
        var start = readme.IndexOf(heading + "\n", StringComparison.Ordinal);
        var end = readme.IndexOf("\n## ", start + heading.Length, StringComparison.Ordinal);
        return SqlBlock().Matches(readme[start..end]).Select(m => m.Groups[1].Value).ToList();
    }

    [GeneratedRegex("```sql\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex SqlBlock();
}
