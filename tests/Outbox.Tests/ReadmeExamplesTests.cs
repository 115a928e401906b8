using System.Text.RegularExpressions;
using Dapper;
using Npgsql;
using Outbox.Core.Messages;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>The README's examples, run as written, so they cannot drift from what the code does.</summary>
public sealed partial class ReadmeExamplesTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_postgresql_examples_run_as_a_role_granted_only_outbox_sender()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var role = $"readme_{Guid.NewGuid():N}"[..20];
        // The logins the README's grants name, then those grants as written.
        var logins = new Dictionary<string, string> { ["app_user"] = role, ["outbox_service"] = $"{role}_svc", ["monitoring"] = $"{role}_mon" };
        await outbox.ExecuteAsync(string.Concat(logins.Values.Select(login => $"create role {login} login;")));
        await outbox.ExecuteAsync(logins.Aggregate(Block("### Who may use the outbox (PostgreSQL)", "sql"), (sql, login) => Regex.Replace(sql, $@"\b{login.Key}\b", login.Value)));
        // What the examples assume the application has besides: its own tables.
        await outbox.ExecuteAsync($"""
            grant create on schema public to {role};
            create table report (name text primary key, content bytea not null);
            create table brand (name text primary key, image bytea not null);
            create table orders (id integer primary key, total numeric not null);
            insert into report values ('2026-11.pdf', '\x255044462d');
            insert into brand values ('logo', '\x89504e47');
            alter table report owner to {role};
            alter table brand owner to {role};
            alter table orders owner to {role};
            """);
        var asApplication = new NpgsqlConnectionStringBuilder(outbox.ConnectionString) { Username = role, Pooling = false }.ConnectionString;
        await using (var connection = new NpgsqlConnection(asApplication))
        {
            await connection.OpenAsync(Ct);
            await connection.ExecuteAsync(Block("## Enqueue from PostgreSQL", "sql"));
            await connection.ExecuteAsync("insert into orders values (7, 20000), (8, 10)");
        }

        var mails = (await outbox.QueryAsync<(string Subject, string Status, bool Scheduled, string Owner)>(
            "select subject, status, send_after is not null, created_by from outbox.outbox_message order by id")).ToList();
        Assert.Equal(
        [
            ("Order 42 confirmed", "queued", false, role),
            ("Monthly report", "queued", false, role),
            ("November newsletter", "queued", true, role),
            ("Big order 7", "queued", false, role),
        ], mails);
        Assert.Equal(
            [("2026-11.pdf", 5L), ("logo.png", 4L)],
            await outbox.QueryAsync<(string, long)>("select file_name, length(content)::bigint from outbox.outbox_attachment order by id"));
    }

    [Fact]
    public async Task The_dotnet_example_is_this_tests_code_and_enqueues_on_sqlite()
    {
        var source = await File.ReadAllTextAsync(Path.Combine(RepositoryRoot(), "tests", "Outbox.Tests", "ReadmeExamplesTests.cs"), Ct);
        var region = Regex.Match(source, @"^\s*// README: begin$(.*?)^\s*// README: end$", RegexOptions.Singleline | RegexOptions.Multiline).Groups[1].Value;
        var snippet = Block("## Enqueue from .NET", "csharp");
        Assert.Equal(Normalized(snippet.Split('\n').Where(l => !l.StartsWith("using ", StringComparison.Ordinal))), Normalized(region.Split('\n')));

        await using var outbox = await TestOutbox.SqliteAsync();
        var path = Path.GetTempFileName();
        await File.WriteAllBytesAsync(path, [0x25, 0x50, 0x44, 0x46], Ct);
        try
        {
            await using var connection = await outbox.OpenAsync();
            var id = await EnqueueAsTheReadmeShows(connection, path);

            await outbox.AssertStatusAsync(id, "queued");
            Assert.Equal(4L, await outbox.ScalarAsync<long>("select length(content) from outbox_attachment where message_id = @id", new { id }));
        }
        finally
        {
            File.Delete(path);
        }
    }

    // The README's .NET example, between the markers, line for line (its using directives are this file's).
    private static async Task<long> EnqueueAsTheReadmeShows(System.Data.Common.DbConnection connection, string path)
    {
        // README: begin
        await using var tx = await connection.BeginTransactionAsync();
        // ... the application's own writes ...
        long id = await OutboxClient.For(connection).EnqueueAsync(connection, tx, new MailRequest
        {
            Sender = "shop@example.com",
            To = ["customer@example.com"],
            Subject = "Order 42",
            TextBody = "Thanks!",
            Attachments = [new MailAttachment { FileName = "invoice.pdf", Content = File.OpenRead(path), MimeType = "application/pdf" }],
        });
        await tx.CommitAsync();
        // README: end
        return id;
    }

    private static string Normalized(IEnumerable<string> lines) =>
        string.Join('\n', lines.Select(l => l.Trim()).Where(l => l.Length > 0));

    // The first fenced block of a language after a heading of the README.
    private static string Block(string heading, string language)
    {
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md"));
        var after = readme[readme.IndexOf(heading, StringComparison.Ordinal)..];
        var match = Regex.Match(after, $"```{language}\n(.*?)```", RegexOptions.Singleline);
        Assert.True(match.Success, $"README: no {language} block after {heading}");
        return match.Groups[1].Value;
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Outbox.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("the tests run outside the repository");
    }
}
