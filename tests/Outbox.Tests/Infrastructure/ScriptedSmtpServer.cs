using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Outbox.Tests.Infrastructure;

/// <summary>Where a scripted fault strikes: "connect" (before the greeting), "EHLO", "AUTH", "MAIL", "RCPT", "DATA", "mid-data", "dot" (after the whole message, before its reply).</summary>
public sealed record SmtpStep(string Phase, int Connection, int Message)
{
    /// <summary>The command line the server answers ("RCPT TO:&lt;a@example.com&gt;"); empty for "connect", "mid-data" and "dot".</summary>
    public string Line { get; init; } = string.Empty;
}

/// <summary>What the scripted server does at a step instead of its normal reply.</summary>
public abstract record SmtpFault
{
    public static SmtpFault Reply(string line) => new ReplyFault(line);

    public static SmtpFault Drop { get; } = new DropFault();

    public static SmtpFault Silence { get; } = new SilenceFault();

    public static SmtpFault Delay(TimeSpan delay) => new DelayFault(delay);

    /// <summary>A multi-line reply that never ends: "250-AAAA…" lines, as fast as the client reads.</summary>
    public static SmtpFault EndlessReply { get; } = new EndlessFault("250-" + new string('A', 70) + "\r\n");

    /// <summary>One reply line that never ends: "250 AAAA…" without a line break.</summary>
    public static SmtpFault EndlessLine { get; } = new EndlessFault("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "250 ");

    /// <summary>A multi-line reply that never ends, one byte every interval.</summary>
    public static SmtpFault Trickle(TimeSpan interval) => new TrickleFault(interval);

    /// <summary>Half a reply, then a TCP reset.</summary>
    public static SmtpFault ResetMidReply { get; } = new ResetFault();

    /// <summary>Bytes that are no SMTP reply at all, then the connection closes.</summary>
    public static SmtpFault Garbage { get; } = new GarbageFault();

    internal sealed record ReplyFault(string Line) : SmtpFault;

    internal sealed record EndlessFault(string Repeated, string Start = "") : SmtpFault;

    internal sealed record TrickleFault(TimeSpan Interval) : SmtpFault;

    internal sealed record ResetFault : SmtpFault;

    internal sealed record GarbageFault : SmtpFault;

    internal sealed record DropFault : SmtpFault;

    internal sealed record SilenceFault : SmtpFault;

    internal sealed record DelayFault(TimeSpan Duration) : SmtpFault;
}

/// <summary>A complete message the server read; Acknowledged is false when a fault replaced its 250.</summary>
public sealed record ScriptedMail(string From, IReadOnlyList<string> To, string Data, bool Acknowledged)
{
    /// <summary>When the server read the final dot.</summary>
    public DateTimeOffset ReceivedAt { get; } = DateTimeOffset.UtcNow;
}

/// <summary>A login the scripted server accepted or refused: the XOAUTH2 user and bearer token.</summary>
public sealed record ScriptedLogin(string User, string Token, bool Accepted);

/// <summary>
/// A fault-injecting SMTP server for tests. Each phase of each session can be scripted to answer
/// a given reply, to stay silent, to wait, or to drop the connection. Plaintext, unless it is
/// given a certificate: then it offers STARTTLS and, after TLS, AUTH XOAUTH2, checking each
/// user and token with a test's function (the SmtpServer package has no XOAUTH2).
/// </summary>
public sealed class ScriptedSmtpServer : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Func<SmtpStep, SmtpFault?> _script;
    private readonly long? _sizeLimit;
    private readonly int? _recipientLimit;
    private readonly Task _accepting;
    private long _flooded;
    private readonly ConcurrentBag<Task> _sessions = [];
    private int _connections;
    private int _open;
    private int _mostOpen;
    private int _messages = -1;

    private readonly X509Certificate2? _certificate;
    private readonly Func<string, string, bool>? _acceptToken;

    /// <summary>Beyond this many bytes of one endless reply the server gives up: a client that reads it all is reading without bound.</summary>
    public const long FloodCap = 256L * 1024 * 1024;

    private ScriptedSmtpServer(Func<SmtpStep, SmtpFault?> script, long? sizeLimit, int port, X509Certificate2? certificate = null, Func<string, string, bool>? acceptToken = null, int? recipientLimit = null)
    {
        _script = script;
        _sizeLimit = sizeLimit;
        _recipientLimit = recipientLimit;
        _certificate = certificate;
        _acceptToken = acceptToken;
        _listener = new TcpListener(IPAddress.Loopback, port);
        // A server restarted by a test takes its old port back at once.
        _listener.Server.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public ConcurrentQueue<ScriptedMail> Received { get; } = new();

    /// <summary>Also told of every complete message, for a test that outlives one server instance.</summary>
    public Action<ScriptedMail>? OnReceived { get; set; }

    /// <summary>
    /// Every complete message, recorded as its final dot is read and before the server replies
    /// (a client killed while it waits for the reply has still delivered it).
    /// </summary>
    public ConcurrentQueue<ScriptedMail> DataReceived { get; } = new();

    /// <summary>Every command line the server read, for asserting what was (not) sent.</summary>
    public ConcurrentQueue<string> Commands { get; } = new();

    public int Connections => _connections;

    /// <summary>Sessions open now (accepted, not yet closed by either side).</summary>
    public int OpenSessions => Volatile.Read(ref _open);

    /// <summary>The most sessions that were ever open at once: what a provider's connection limit counts.</summary>
    public int MostOpenSessions => Volatile.Read(ref _mostOpen);

    /// <summary>The bytes of endless replies the client took before it hung up (what TCP buffered included).</summary>
    public long BytesFlooded => Interlocked.Read(ref _flooded);

    /// <summary>Set once an endless reply reached <see cref="FloodCap"/>.</summary>
    public bool FloodCapReached { get; private set; }

    /// <summary>Every XOAUTH2 login, accepted or not.</summary>
    public ConcurrentQueue<ScriptedLogin> Logins { get; } = new();

    /// <param name="recipientLimit">Like Postfix's smtpd_recipient_limit: RCPT TO past this many in one transaction gets 452 4.5.3.</param>
    public static ScriptedSmtpServer Start(Func<SmtpStep, SmtpFault?>? script = null, long? sizeLimit = null, int port = 0, int? recipientLimit = null) =>
        new(script ?? (_ => null), sizeLimit, port, recipientLimit: recipientLimit);

    /// <summary>STARTTLS with a certificate from the test CA, then AUTH XOAUTH2 checked by acceptToken(user, token).</summary>
    public static ScriptedSmtpServer StartWithOAuth(Func<string, string, bool> acceptToken, Func<SmtpStep, SmtpFault?>? script = null) =>
        new(script ?? (_ => null), null, 0, TestCertificates.Server(), acceptToken);

    /// <summary>Options for the worker: plaintext on loopback, as a test server needs.</summary>
    public Core.Sending.SmtpOptions Options(Action<Core.Sending.SmtpOptions>? change = null)
    {
        var options = new Core.Sending.SmtpOptions
        {
            Host = "127.0.0.1",
            Port = Port,
            Security = Core.Sending.SmtpSecurity.None,
            AllowInsecure = true,
            Timeout = TimeSpan.FromSeconds(3),
        };
        change?.Invoke(options);
        return options;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        await Task.WhenAll(_sessions).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            _sessions.Add(Task.Run(() => SessionAsync(client, Interlocked.Increment(ref _connections) - 1)));
        }
    }

    private async Task SessionAsync(TcpClient client, int connection)
    {
        var open = Interlocked.Increment(ref _open);
        for (var most = _mostOpen; open > most; most = _mostOpen)
        {
            Interlocked.CompareExchange(ref _mostOpen, open, most);
        }

        try
        {
            await ServeAsync(client, connection);
        }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    }

    private async Task ServeAsync(TcpClient client, int connection)
    {
        using var owned = client;
        Stream stream = client.GetStream();
        var reader = new StreamReader(stream, Encoding.Latin1);
        var writer = new StreamWriter(stream, Encoding.Latin1) { NewLine = "\r\n", AutoFlush = true };
        try
        {
            if (!await StepAsync(stream, writer, new SmtpStep("connect", connection, -1), "220 scripted.test ESMTP"))
            {
                return;
            }

            string? from = null;
            var to = new List<string>();
            var message = -1;
            while (await reader.ReadLineAsync(_stop.Token) is { } line)
            {
                Commands.Enqueue(line);
                var verb = line.Split(' ', 2)[0].ToUpperInvariant();
                if (verb == "STARTTLS" && _certificate is not null && stream is not SslStream)
                {
                    await writer.WriteLineAsync("220 2.0.0 Ready to start TLS");
                    var tls = new SslStream(stream);
                    await tls.AuthenticateAsServerAsync(_certificate);
                    stream = tls;
                    reader = new StreamReader(stream, Encoding.Latin1);
                    writer = new StreamWriter(stream, Encoding.Latin1) { NewLine = "\r\n", AutoFlush = true };
                    continue;
                }

                if (verb == "AUTH" && _acceptToken is not null)
                {
                    var login = Login(line) ? "235 2.7.0 Authentication successful" : "535 5.7.3 Authentication unsuccessful";
                    if (!await StepAsync(stream, writer, new SmtpStep("AUTH", connection, message) { Line = line }, login))
                    {
                        return;
                    }

                    continue;
                }

                if (verb == "MAIL")
                {
                    message = Interlocked.Increment(ref _messages);
                    from = Between(line, '<', '>');
                    to.Clear();
                }

                var rcptReply = _recipientLimit is { } limit && to.Count >= limit ? "452 4.5.3 Error: too many recipients" : "250 2.1.5 Ok";
                var step = new SmtpStep(verb, connection, message) { Line = line };
                var proceed = verb switch
                {
                    "EHLO" => await StepAsync(stream, writer, step, Capabilities(stream is SslStream)),
                    "MAIL" => await StepAsync(stream, writer, step, "250 2.1.0 Ok"),
                    "RCPT" => await StepAsync(stream, writer, step, rcptReply, accepted => { if (accepted) { to.Add(Between(line, '<', '>')); } }),
                    "DATA" => await StepAsync(stream, writer, step, "354 End data with <CR><LF>.<CR><LF>"),
                    "RSET" => await StepAsync(stream, writer, step, "250 2.0.0 Ok"),
                    "QUIT" => await QuitAsync(writer),
                    _ => await StepAsync(stream, writer, step, "250 Ok"),
                };
                if (!proceed)
                {
                    return;
                }
                if (verb == "DATA" && !await ReceiveDataAsync(stream, reader, writer, connection, message, from ?? string.Empty, to))
                {
                    return;
                }
            }
        }
        catch (ResetException)
        {
            client.Client.LingerState = new LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException or ObjectDisposedException or System.Security.Authentication.AuthenticationException)
        {
        }
        finally
        {
            reader.Dispose();
            await writer.DisposeAsync();
            await stream.DisposeAsync();
        }
    }

    private string Capabilities(bool secure)
    {
        var lines = new List<string> { "scripted.test" };
        if (_sizeLimit is { } limit)
        {
            lines.Add($"SIZE {limit}");
        }

        if (_certificate is not null && !secure)
        {
            lines.Add("STARTTLS");
        }

        if (_acceptToken is not null && secure)
        {
            lines.Add("AUTH XOAUTH2");
        }

        lines.Add("8BITMIME");
        return string.Join("\r\n", lines.Select((l, i) => (i == lines.Count - 1 ? "250 " : "250-") + l));
    }

    // "AUTH XOAUTH2 base64(user=U^Aauth=Bearer T^A^A)", as MailKit sends it in one line.
    private bool Login(string line)
    {
        var parts = line.Split(' ');
        if (parts.Length < 3 || !parts[1].Equals("XOAUTH2", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        var fields = Encoding.UTF8.GetString(Convert.FromBase64String(parts[2])).Split('\x01', StringSplitOptions.RemoveEmptyEntries);
        var user = fields.FirstOrDefault(f => f.StartsWith("user=", StringComparison.Ordinal))?[5..] ?? string.Empty;
        var token = fields.FirstOrDefault(f => f.StartsWith("auth=Bearer ", StringComparison.Ordinal))?[12..] ?? string.Empty;
        var accepted = _acceptToken!(user, token);
        Logins.Enqueue(new ScriptedLogin(user, token, accepted));
        return accepted;
    }

    private async Task<bool> ReceiveDataAsync(Stream stream, StreamReader reader, StreamWriter writer, int connection, int message, string from, List<string> to)
    {
        var data = new StringBuilder();
        var first = true;
        while (await reader.ReadLineAsync(_stop.Token) is { } line)
        {
            if (line == ".")
            {
                DataReceived.Enqueue(new ScriptedMail(from, to.ToList(), data.ToString(), Acknowledged: false));
                var acknowledged = await StepAsync(stream, writer, new SmtpStep("dot", connection, message), $"250 2.0.0 Ok: queued as S{message:D5}");
                var mail = new ScriptedMail(from, to.ToList(), data.ToString(), acknowledged);
                Received.Enqueue(mail);
                OnReceived?.Invoke(mail);
                return acknowledged;
            }

            data.Append(line.StartsWith("..", StringComparison.Ordinal) ? line[1..] : line).Append("\r\n");
            if (first)
            {
                first = false;
                if (_script(new SmtpStep("mid-data", connection, message)) is SmtpFault.DropFault)
                {
                    return false;
                }
            }
        }

        return false;
    }

    // Returns false when the session must end (dropped, silenced, or flooded). replied says
    // whether the reply sent was a 2xx or 3xx.
    private async Task<bool> StepAsync(Stream stream, StreamWriter writer, SmtpStep step, string normalReply, Action<bool>? replied = null)
    {
        switch (_script(step))
        {
            case null:
                await writer.WriteLineAsync(normalReply);
                replied?.Invoke(normalReply[0] is '2' or '3');
                return true;
            case SmtpFault.ReplyFault reply:
                await writer.WriteLineAsync(reply.Line);
                replied?.Invoke(reply.Line[0] is '2' or '3');
                return !reply.Line.StartsWith("421", StringComparison.Ordinal);
            case SmtpFault.DelayFault delay:
                await Task.Delay(delay.Duration, _stop.Token);
                await writer.WriteLineAsync(normalReply);
                replied?.Invoke(normalReply[0] is '2' or '3');
                return true;
            case SmtpFault.SilenceFault:
                await Task.Delay(Timeout.Infinite, _stop.Token);
                return false;
            case SmtpFault.EndlessFault endless:
                await FloodAsync(stream, Encoding.ASCII.GetBytes(endless.Start), Encoding.ASCII.GetBytes(endless.Repeated));
                return false;
            case SmtpFault.TrickleFault trickle:
                await TrickleAsync(stream, trickle.Interval);
                return false;
            case SmtpFault.ResetFault:
                await stream.WriteAsync(Encoding.ASCII.GetBytes("250-half a rep"), _stop.Token);
                await stream.FlushAsync(_stop.Token);
                throw new ResetException();
            case SmtpFault.GarbageFault:
                await stream.WriteAsync(new byte[] { 0x16, 0x03, 0x01, 0x00, 0xA5, 0x01, 0x00, 0x00, 0xA1, 0x03, 0x03, 0xFF, 0xFE, (byte)'\r', (byte)'\n' }, _stop.Token);
                return false;
            default:
                return false;
        }
    }

    // Writes until the client hangs up (or FloodCap: then the client reads without bound).
    private async Task FloodAsync(Stream stream, byte[] start, byte[] repeated)
    {
        var chunk = new byte[64 * 1024 / repeated.Length * repeated.Length];
        for (var i = 0; i < chunk.Length; i += repeated.Length)
        {
            repeated.CopyTo(chunk, i);
        }

        await stream.WriteAsync(start, _stop.Token);
        while (BytesFlooded < FloodCap)
        {
            await stream.WriteAsync(chunk, _stop.Token);
            Interlocked.Add(ref _flooded, chunk.Length);
        }

        FloodCapReached = true;
    }

    private async Task TrickleAsync(Stream stream, TimeSpan interval)
    {
        var line = Encoding.ASCII.GetBytes("250-trickle\r\n");
        for (var i = 0; ; i = (i + 1) % line.Length)
        {
            await stream.WriteAsync(line.AsMemory(i, 1), _stop.Token);
            await stream.FlushAsync(_stop.Token);
            Interlocked.Increment(ref _flooded);
            await Task.Delay(interval, _stop.Token);
        }
    }

    /// <summary>Ends a session with a TCP reset instead of a close.</summary>
    private sealed class ResetException : Exception
    {
    }

    private static async Task<bool> QuitAsync(StreamWriter writer)
    {
        await writer.WriteLineAsync("221 2.0.0 Bye");
        return false;
    }

    private static string Between(string line, char open, char close)
    {
        var start = line.IndexOf(open, StringComparison.Ordinal) + 1;
        var end = line.IndexOf(close, start);
        return start > 0 && end > start ? line[start..end] : string.Empty;
    }
}
