using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Logging.Abstractions;

namespace Outbox.Core.Sending;

/// <summary>One step of `outbox check smtp`.</summary>
public sealed record SmtpCheckStep(string Step, bool Ok, string Detail);

/// <summary>
/// Connects to the SMTP server as the worker would and reports each step (name resolution, TCP,
/// the capabilities offered before TLS, the TLS session and the certificate chain, AUTH, and
/// whether the server takes mail from the sender), so an operator sees why mail does not go
/// out. Never reports a secret, never sends a mail.
/// </summary>
/// <param name="sender">An address to try with MAIL FROM (then RSET); null to skip that step.</param>
/// <param name="stages">Told when each step starts ("the TLS handshake with …"), so a caller can say what a silent server keeps it waiting for.</param>
public sealed class SmtpCheck(SmtpOptions options, string? sender = null, IProgress<string>? stages = null)
{
    /// <summary>The one line that ends a check, the same in `outbox check smtp` and on the dashboard.</summary>
    public static string Verdict(SmtpOptions server, IReadOnlyList<SmtpCheckStep> steps, bool wouldSend)
    {
        ArgumentNullException.ThrowIfNull(server);
        ArgumentNullException.ThrowIfNull(steps);
        return wouldSend
            ? $"mail would go out through {server.Host}:{server.Port}"
            : $"mail would NOT go out: {steps.Last(s => !s.Ok).Detail}";
    }

    public async Task<(IReadOnlyList<SmtpCheckStep> Steps, bool WouldSend)> RunAsync(CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var transport = new SmtpTransport(options, NullLogger<SmtpTransport>.Instance);
        var (steps, wouldSend) = await StepsAsync(transport, cancellationToken).ConfigureAwait(false);
        // A server may echo a secret in any reply; the steps quote replies.
        return (steps.Select(step => step with { Detail = transport.Secrets.Scrub(step.Detail)! }).ToList(), wouldSend);
    }

    private async Task<(List<SmtpCheckStep> Steps, bool WouldSend)> StepsAsync(SmtpTransport transport, CancellationToken cancellationToken)
    {
        var steps = new List<SmtpCheckStep>();
        var where = $"{options.Host}:{options.Port}";
        IPAddress[] addresses;
        try
        {
            stages?.Report($"{options.Host} to resolve");
            addresses = await Dns.GetHostAddressesAsync(options.Host, cancellationToken).ConfigureAwait(false);
            steps.Add(new("resolve", true, $"{options.Host} is {string.Join(", ", addresses.Select(a => a.ToString()))}"));
        }
        catch (SocketException ex)
        {
            steps.Add(new("resolve", false, $"{options.Host} does not resolve ({ex.Message}): check Outbox:Smtp:Host"));
            return (steps, false);
        }

        if (options.Security == SmtpSecurity.StartTls && !await ProbePlaintextAsync(steps, cancellationToken).ConfigureAwait(false))
        {
            return (steps, false);
        }

        var validator = transport.NewValidator();
        var clock = Stopwatch.StartNew();
        // The step under way when something fails is the one reported as failed; the steps
        // before it stay in the report.
        var stage = options.Security == SmtpSecurity.None ? "connect" : "tls";
        OutboxSmtpClient? client = null;
        try
        {
            stages?.Report(options.Security == SmtpSecurity.None ? $"the greeting of {where}" : $"the TLS handshake with {where}");
            client = await transport.ConnectClientAsync(validator, cancellationToken).ConfigureAwait(false);
            steps.Add(new("tls", client.IsSecure || options.Security == SmtpSecurity.None, client.IsSecure
                ? $"{client.SslProtocol}, {client.SslCipherSuite}, in {clock.ElapsedMilliseconds} ms"
                : "no encryption (Security=None, AllowInsecure)"));
            AddChain(steps, validator, ok: true);
            steps.Add(new("ehlo", true, Capabilities(client)));
            stage = "auth";
            stages?.Report("the answer to AUTH");
            await transport.LogInAsync(client, cancellationToken).ConfigureAwait(false);
            steps.Add(new("auth", true, string.IsNullOrEmpty(options.UserName)
                ? "no AUTH (Outbox:Smtp:UserName is not set)"
                : transport.LoginDescription));
            stage = "mail from";
            stages?.Report("the answer to MAIL FROM");
            var accepted = sender is null || await ProbeSenderAsync(client, sender, steps, cancellationToken).ConfigureAwait(false);
            await QuitAsync(client).ConfigureAwait(false);
            return (steps, accepted);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            if (validator.PresentedChain.Count > 0 && !steps.Any(s => s.Step == "certificate"))
            {
                AddChain(steps, validator, ok: validator.Failure is null);
            }

            steps.Add(new(stage, false, ex switch
            {
                // A reply where a greeting or EHLO answer was due: typically 421, a server that
                // refuses sessions for now.
                SmtpCommandException command => Refused(where, (int)command.StatusCode, command.Message),
                TransportConfigurationException or SmtpConnectException => ex.Message,
                _ => $"{where}: {Dispatch.FailureClassifier.Classify(ex).Reason}",
            }));
            return (steps, false);
        }
        finally
        {
            client?.Dispose();
        }
    }

    // Everything was learned already; a QUIT the server does not answer changes no verdict.
    private static async Task QuitAsync(OutboxSmtpClient client)
    {
        try
        {
            using var quitTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await client.DisconnectAsync(quit: true, quitTimeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or MailKit.ProtocolException or MailKit.CommandException or TimeoutException)
        {
        }
    }

    // What the server offers before TLS: whether STARTTLS is there at all, and whether it
    // (wrongly) offers AUTH in plaintext.
    private async Task<bool> ProbePlaintextAsync(List<SmtpCheckStep> steps, CancellationToken cancellationToken)
    {
        using var probe = new OutboxSmtpClient(options.Timeout);
        var clock = Stopwatch.StartNew();
        try
        {
            stages?.Report($"the greeting of {options.Host}:{options.Port}");
            await probe.ConnectAsync(options.Host, options.Port, SecureSocketOptions.None, cancellationToken).ConfigureAwait(false);
        }
        catch (SmtpCommandException ex)
        {
            steps.Add(new("connect", false, Refused($"{options.Host}:{options.Port}", (int)ex.StatusCode, ex.Message)));
            return false;
        }
        catch (Exception ex) when (ex is SocketException or IOException or TimeoutException or OperationCanceledException or SmtpProtocolException && !cancellationToken.IsCancellationRequested)
        {
            steps.Add(new("connect", false, $"{options.Host}:{options.Port}: {(ex is SocketException ? ex.Message : Dispatch.FailureClassifier.Classify(ex).Reason)}. Check the host, the port and any firewall; for SMTPS (465) set Security to SslOnConnect"));
            return false;
        }

        steps.Add(new("connect", true, $"TCP to {options.Host}:{options.Port} and greeting in {clock.ElapsedMilliseconds} ms"));
        var startTls = probe.Capabilities.HasFlag(SmtpCapabilities.StartTLS);
        steps.Add(new("ehlo before TLS", startTls, startTls
            ? Capabilities(probe)
            : $"{Capabilities(probe)}; no STARTTLS, so nothing would be sent (no fallback to plaintext). Use the port that offers STARTTLS, or SslOnConnect on 465"));
        await probe.DisconnectAsync(quit: true, cancellationToken).ConfigureAwait(false);
        return startTls;
    }

    private static async Task<bool> ProbeSenderAsync(OutboxSmtpClient client, string sender, List<SmtpCheckStep> steps, CancellationToken cancellationToken)
    {
        var (accepted, reply) = await client.ProbeSenderAsync(sender, cancellationToken).ConfigureAwait(false);
        var code = int.TryParse(reply.AsSpan(0, 3), System.Globalization.CultureInfo.InvariantCulture, out var parsed) ? parsed : 0;
        steps.Add(new("mail from", accepted, accepted
            ? $"the server takes mail from {sender} ({reply})"
            : code switch
            {
                530 => Dispatch.FailureClassifier.AuthenticationRequiredReason(reply[4..]),
                421 => Refused("the server", code, reply[4..]),
                _ when code >= 500 => $"the server refuses mail from {sender} ({reply}). Use a sender address this account may send as, or ask the server's operator",
                _ => $"the server does not take mail from {sender} now ({reply}); the worker would retry later",
            }));
        return accepted;
    }

    private static string Refused(string where, int code, string reply) => code == 421
        ? $"{where} answered 421 {reply}: it refuses sessions for now (busy, rate limiting or shutting down). The worker hands the mail back and tries again later; if it lasts, ask the server's operator"
        : $"{where} answered {code} {reply} instead of a greeting";

    private static void AddChain(List<SmtpCheckStep> steps, CertificateValidator validator, bool ok)
    {
        for (var i = 0; i < validator.PresentedChain.Count; i++)
        {
            steps.Add(new(i == 0 ? "certificate" : "  issued by", ok, validator.PresentedChain[i]));
        }
    }

    private static string Capabilities(SmtpClient client)
    {
        var offered = new List<string>();
        if (client.Capabilities.HasFlag(SmtpCapabilities.Size))
        {
            offered.Add(client.MaxSize > 0 ? $"SIZE {client.MaxSize}" : "SIZE");
        }

        foreach (var (flag, name) in new[] { (SmtpCapabilities.Pipelining, "PIPELINING"), (SmtpCapabilities.StartTLS, "STARTTLS"), (SmtpCapabilities.EightBitMime, "8BITMIME"), (SmtpCapabilities.Chunking, "CHUNKING"), (SmtpCapabilities.UTF8, "SMTPUTF8") })
        {
            if (client.Capabilities.HasFlag(flag))
            {
                offered.Add(name);
            }
        }

        if (client.AuthenticationMechanisms.Count > 0)
        {
            offered.Add("AUTH " + string.Join(' ', client.AuthenticationMechanisms));
        }

        return offered.Count == 0 ? "no extensions" : string.Join(", ", offered);
    }
}
