using System.Diagnostics;
using System.Net.Sockets;

namespace Outbox.Tests.Infrastructure;

/// <summary>
/// A real Postfix for one test: a private instance (its own configuration, queue and log in a
/// temp folder, `postfix -c DIR start`; the machine's own Postfix configuration is not touched)
/// with one plain smtpd on a loopback port that relays for 127.0.0.0/8 and discards every mail
/// it queued, logging each recipient. Needs Debian's `postfix` package and root (Postfix's
/// master runs as root); without them the test skips, except under CI=true, where it fails.
/// </summary>
public sealed class PostfixServer : IAsyncDisposable
{
    private readonly string _directory;

    private PostfixServer(string directory, int port)
    {
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    /// <summary>Postfix's own log (smtpd, cleanup, qmgr, discard).</summary>
    public string LogFile => Path.Combine(_directory, "postfix.log");

    private string ConfigDirectory => Path.Combine(_directory, "etc");

    /// <param name="mainCf">Extra main.cf lines, e.g. "smtpd_recipient_limit = 1000".</param>
    public static async Task<PostfixServer> StartAsync(params string[] mainCf)
    {
        ArgumentNullException.ThrowIfNull(mainCf);
        string? unavailable = !File.Exists("/usr/sbin/postfix") ? "Postfix is not installed (Debian package postfix; .ci/run installs it)"
            : Environment.UserName != "root" ? "Postfix's master must run as root; run the tests as root"
            : null;
        if (unavailable is not null)
        {
            Assert.True(!PostgresServer.OnCi, unavailable);
            Assert.Skip(unavailable);
        }

        var directory = Path.Combine(Path.GetTempPath(), $"outbox-postfix-{Guid.NewGuid():N}");
        var server = new PostfixServer(directory, LoopbackPort.Free());
        Directory.CreateDirectory(server.ConfigDirectory);
        Directory.CreateDirectory(Path.Combine(directory, "queue"));
        Directory.CreateDirectory(Path.Combine(directory, "data"));
        await RunAsync("chown", "postfix", Path.Combine(directory, "data"));
        await File.WriteAllLinesAsync(Path.Combine(server.ConfigDirectory, "main.cf"),
        [
            "compatibility_level = 3.6",
            $"queue_directory = {directory}/queue",
            $"data_directory = {directory}/data",
            "myhostname = postfix.outbox.test",
            "inet_interfaces = 127.0.0.1",
            "inet_protocols = ipv4",
            "mynetworks = 127.0.0.0/8",
            "mydestination =",
            "local_recipient_maps =",
            "alias_maps =",
            "alias_database =",
            "default_transport = discard",
            "relay_transport = discard",
            "local_transport = discard",
            "smtpd_relay_restrictions = permit_mynetworks, reject",
            "smtpd_recipient_restrictions = permit_mynetworks, reject",
            "smtpd_peername_lookup = no",
            "maillog_file_prefixes = /tmp",
            $"maillog_file = {server.LogFile}",
            .. mainCf,
        ]);
        await File.WriteAllLinesAsync(Path.Combine(server.ConfigDirectory, "master.cf"),
        [
            $"127.0.0.1:{server.Port} inet n - n - - smtpd",
            .. new[] { "pickup", "cleanup", "qmgr", "rewrite", "bounce", "defer", "trace", "verify", "flush", "proxymap", "showq", "error", "retry", "discard", "anvil", "scache" }
                .Select(Service),
            "postlog unix-dgram n - n - 1 postlogd",
        ]);
        // Postfix waits until a configuration file is a few seconds old ("being edited").
        foreach (var file in Directory.GetFiles(server.ConfigDirectory))
        {
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddMinutes(-1));
        }

        await RunAsync("/usr/sbin/postfix", "-c", server.ConfigDirectory, "start");
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!await server.ListensAsync())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Postfix did not listen on 127.0.0.1:{server.Port} within 20 s (log: {server.LogFile})");
            await Task.Delay(100);
        }

        return server;
    }

    /// <summary>The lines of Postfix's log that contain text, once at least count of them are there (delivery is asynchronous).</summary>
    public async Task<IReadOnlyList<string>> WaitForLogAsync(string text, int count, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var lines = File.Exists(LogFile)
                ? (await File.ReadAllLinesAsync(LogFile)).Where(l => l.Contains(text, StringComparison.Ordinal)).ToList()
                : [];
            if (lines.Count >= count || DateTime.UtcNow > deadline)
            {
                return lines;
            }

            await Task.Delay(200);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await RunAsync("/usr/sbin/postfix", "-c", ConfigDirectory, "stop");
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // A daemon still closing a file; the temp folder is cleaned with the machine.
        }
    }

    // Every internal service as Debian's master.cf has it, unchrooted.
    private static string Service(string name) => name switch
    {
        "pickup" => "pickup unix n - n 60 1 pickup",
        "cleanup" => "cleanup unix n - n - 0 cleanup",
        "qmgr" => "qmgr unix n - n 300 1 qmgr",
        "rewrite" => "rewrite unix - - n - - trivial-rewrite",
        "bounce" or "defer" or "trace" => $"{name} unix - - n - 0 bounce",
        "verify" or "anvil" or "scache" => $"{name} unix - - n - 1 {name}",
        "flush" => "flush unix n - n 1000? 0 flush",
        "showq" => "showq unix n - n - - showq",
        "retry" => "retry unix - - n - - error",
        _ => $"{name} unix - - n - - {name}",
    };

    private async Task<bool> ListensAsync()
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync("127.0.0.1", Port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static async Task RunAsync(string program, params string[] arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"{program} {string.Join(' ', arguments)} failed: {await error}");
    }
}
