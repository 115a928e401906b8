using System.Net;
using Outbox.Configuration;
using Outbox.Core.Messages;
using Outbox.Dashboard;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;
using SmtpServer.Protocol;

namespace Outbox.Tests.Dashboard;

/// <summary>
/// A dashboard in this process on a free port, over a real PostgreSQL outbox holding a mail sent
/// and mails failed through the in-process SMTP server; its configuration carries secrets (SMTP,
/// database and dashboard passwords) that no page may show.
/// </summary>
public sealed class DashboardHost : IAsyncDisposable
{
    public const string HostileSubject = "<script>alert(1)</script>";
    public const string DatabasePassword = "pg-pw-never-shown-41";
    public const string DashboardPassword = "dash-pw-never-shown-42";

    private readonly DashboardApp _app;
    private readonly OutboxDatabase _database;

    private DashboardHost(DashboardApp app, OutboxDatabase database, string url, OutboxOptions options)
    {
        _app = app;
        _database = database;
        Url = url.TrimEnd('/');
        Options = options;
    }

    public string Url { get; }

    public OutboxOptions Options { get; }

    public long SentId { get; private set; }

    public long FailedId { get; private set; }

    public long OtherFailedId { get; private set; }

    public static IReadOnlyList<string> Secrets => [TestSmtpServer.Password, DatabasePassword, DashboardPassword];

    /// <summary>A sent mail and two failed ones (one with a hostile subject) in a fresh database.</summary>
    public static async Task<(TestOutbox Outbox, long Sent, long Failed, long OtherFailed)> MailsAsync(PostgresServer postgres)
    {
        var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var smtp = TestSmtpServer.Start(s => s.RecipientReply = address => address.StartsWith("nobody", StringComparison.Ordinal)
            ? new SmtpResponse(SmtpReplyCode.MailboxUnavailable, "5.1.1 <nobody@example.com>: user unknown") : null);
        var sent = await outbox.EnqueueAsync(new MailRequest { Sender = "shop@example.com", To = ["customer@example.com"], Subject = "Invoice 42", TextBody = "Attached.",
            Attachments = [new MailAttachment { FileName = "invoice.pdf", Content = new MemoryStream(new byte[1234]), MimeType = "application/pdf" }] });
        var failed = await outbox.EnqueueAsync(new MailRequest { Sender = "shop@example.com", To = ["nobody@example.com"], Subject = HostileSubject, TextBody = "x" });
        var other = await outbox.EnqueueAsync(new MailRequest { Sender = "shop@example.com", To = ["nobody2@example.com"], Subject = "Reminder", TextBody = "x" });
        await outbox.SmtpDispatcher(TestOutbox.SmtpFor(smtp)).DispatchDueAsync(TestContext.Current.CancellationToken);
        await outbox.AssertStatusAsync(sent, "sent");
        await outbox.AssertStatusAsync(failed, "failed");
        return (outbox, sent, failed, other);
    }

    /// <summary>The dashboard over the outbox, connected as the given connection string's user.</summary>
    public static async Task<DashboardHost> StartAsync(string connectionString, Action<DashboardOptions> dashboard, IPAddress? address = null, Action<OutboxOptions>? configure = null)
    {
        var port = LoopbackPort.Free();
        var url = $"http://{(address is null ? "127.0.0.1" : address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString())}:{port}/";
        var options = new OutboxOptions
        {
            Database = new DatabaseOptions { Provider = "postgresql", ConnectionString = connectionString + $";Password={DatabasePassword}" },
            Transport = "smtp",
            Smtp = { Host = "localhost", Port = 1, UserName = TestSmtpServer.User, Password = TestSmtpServer.Password },
            Dashboard = { Url = url },
        };
        dashboard(options.Dashboard);
        configure?.Invoke(options);
        var problems = new OutboxOptionsValidator().Validate(null, options);
        Assert.False(problems.Failed, string.Join("; ", problems.Failures ?? []));
        var database = OutboxDatabase.Create(options.Database, ConnectionUse.Dashboard(options.Dashboard.DatabaseConnections));
        var app = DashboardApp.Create(options, database, DashboardBinding.From(options.Dashboard));
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new DashboardHost(app, database, url, options);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
        await _database.DisposeAsync();
    }
}
