using System.Net.Sockets;
using MailKit;
using MailKit.Net.Smtp;
using MimeKit;
using Outbox.Core.Sending;

namespace Outbox.Core.Dispatch;

/// <summary>
/// Sorts errors the way MailKit's exception types already do: a reply (SmtpCommandException,
/// the connection still usable) is transient for 4xx and permanent for 5xx; a broken protocol
/// or socket is transient and drops the connection; configuration errors stop the dispatch.
/// </summary>
public static class FailureClassifier
{
    private const int AuthenticationRequired = 530;

    public static SendFailure Classify(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception switch
        {
            TransportConfigurationException configuration => new(FailureKind.Configuration, configuration.SmtpCode, exception.Message, true, []),
            RateLimitedException limited => new(FailureKind.RateLimited, null, limited.Message, false, []) { RetryAfter = limited.RetryAfter },
            // The server's throttling (without accounts, so without their backoff): the reply's wait, else RetryBaseDelay.
            AccountThrottledException throttled => new(FailureKind.RateLimited, null, throttled.Message, true, []) { RetryAfter = throttled.RetryAfter },
            AccountsUnavailableException or Sending.Graph.GraphUnavailableException => new(FailureKind.ServerUnavailable, null, exception.Message, false, []),
            Sending.Graph.GraphRefusedException refused => new(refused.IsPermanent ? FailureKind.Permanent : FailureKind.Transient, null, refused.Message, false, []),
            ReplyLostException => new(FailureKind.ReplyLost, null, exception.Message, true, []),
            MessageTooLargeException or UnsendableMailException => new(FailureKind.Permanent, null, exception.Message, false, []),
            UnroutableMailException => new(FailureKind.Unroutable, null, exception.Message, false, []),
            AllRecipientsRejectedException all => new(
                all.Rejections.Any(r => r.IsDeferred) ? FailureKind.Transient : FailureKind.Permanent,
                all.Rejections.Count > 0 ? all.Rejections[0].SmtpCode : null, all.Message, false, all.Rejections),
            SmtpCommandException { StatusCode: (SmtpStatusCode)AuthenticationRequired } command => new(
                FailureKind.Configuration, AuthenticationRequired, AuthenticationRequiredReason(command.Message), false, []),
            SmtpCommandException { StatusCode: SmtpStatusCode.ServiceNotAvailable } command => new(
                FailureKind.ServerUnavailable, 421, $"421 {command.Message}", true, []),
            SmtpCommandException command => new(
                (int)command.StatusCode >= 500 ? FailureKind.Permanent : FailureKind.Transient,
                (int)command.StatusCode, $"{(int)command.StatusCode} {command.Message}", false, []),
            // MailKit's read timeout, which the reply guard shortens to what is left of a reply's
            // time: its milliseconds are not the configured value.
            // Over TLS the same timeout comes wrapped: "The read operation failed, see inner exception".
            TimeoutException or IOException { InnerException: TimeoutException } => new(FailureKind.Transient, null, "the server did not answer, or did not finish its reply, within Outbox:Smtp:Timeout", true, []),
            SmtpProtocolException or ServiceNotConnectedException or IOException or SocketException or SmtpConnectException
                => new(FailureKind.Transient, null, Describe(exception), true, []),
            OperationCanceledException => new(FailureKind.Transient, null, "timed out waiting for the server", true, []),
            // MimeKit's parsers: a stored address or raw text that cannot become a message.
            FormatException or ParseException => new(FailureKind.Permanent, null, $"the mail cannot be built: {exception.Message}", false, []),
            _ => new(FailureKind.Transient, null, Describe(exception), true, []),
        };
    }

    /// <summary>What a 530 reply asks for: TLS first ("Must issue a STARTTLS command first"), or a login.</summary>
    public static string AuthenticationRequiredReason(string reply) =>
        reply.Contains("STARTTLS", StringComparison.OrdinalIgnoreCase) || reply.Contains("TLS", StringComparison.Ordinal)
            ? $"the server requires TLS before mail ({AuthenticationRequired} {reply}). Set Outbox:Smtp:Security to StartTls (or SslOnConnect on port 465)"
            : $"the server requires authentication ({AuthenticationRequired} {reply}). Set Outbox:Smtp:UserName and the password";

    private static string Describe(Exception exception) =>
        exception.InnerException is null || exception.Message.Contains(exception.InnerException.Message, StringComparison.Ordinal)
            ? exception.Message
            : $"{exception.Message} ({exception.InnerException.Message})";
}
