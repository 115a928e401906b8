using Microsoft.Extensions.Logging;
using Outbox.Core.Sending;

namespace Outbox.Core;

/// <summary>The worker's log lines, generated once (no formatting cost when a level is off).</summary>
internal static partial class Log
{
    [LoggerMessage(Level = LogLevel.Debug, Message = "Connected to {Host}:{Port} ({Security}, encrypted: {Secure})")]
    public static partial void Connected(ILogger logger, string host, int port, SmtpSecurity security, bool secure);

    [LoggerMessage(Level = LogLevel.Error, Message = "Cannot send: {Reason} ({Count} mail(s) wait {Pause} before the next try)")]
    public static partial void CannotConnect(ILogger logger, string reason, int count, TimeSpan pause);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not renew the lease of {Count} mail(s) being sent: {Reason}")]
    public static partial void LeaseNotRenewed(ILogger logger, int count, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Mail {Id} sent: {Code} {Reply}")]
    public static partial void Sent(ILogger logger, long id, int code, string reply);

    [LoggerMessage(Level = LogLevel.Error, Message = "Cannot send mail {Id}: {Reason}")]
    public static partial void CannotSend(ILogger logger, long id, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mail {Id} failed after {Attempts} attempt(s): {Reason}")]
    public static partial void Failed(ILogger logger, long id, int attempts, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mail {Id} is unconfirmed and held for an operator: {Reason}")]
    public static partial void Unconfirmed(ILogger logger, long id, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mail {Id} will be retried in {Delay}: {Reason}")]
    public static partial void Retrying(ILogger logger, long id, TimeSpan delay, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopped sending the batch: {Reason}")]
    public static partial void LeaseLost(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mail {Id} was taken over from worker {Worker} after it had begun sending it, and is held for an operator as unconfirmed (LostReplyPolicy Hold)")]
    public static partial void TakenOverAndHeld(ILogger logger, long id, string? worker);

    [LoggerMessage(Level = LogLevel.Information, Message = "Mail {Id} expired before it could be sent (its expires_at had passed): recorded 'expired', not sent")]
    public static partial void Expired(ILogger logger, long id);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mail {Id} will not be retried: its next try would come after its expires_at, so it is recorded 'expired' ({Reason})")]
    public static partial void ExpiredBeforeRetry(ILogger logger, long id, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Mail {Id} was taken over from worker {Worker}, whose lease ran out")]
    public static partial void TakenOver(ILogger logger, long id, string? worker);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: {Count} untried mail(s) handed back")]
    public static partial void HandedBackOnStop(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Stopping: {Reason}. Another worker takes these mails over when their lease ends and records each one it finds begun as unconfirmed")]
    public static partial void NotRecordedAtStop(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Not sending: {Pause}; its mail waits until `outbox resume`")]
    public static partial void Paused(ILogger logger, string pause);

    [LoggerMessage(Level = LogLevel.Information, Message = "Resumed: {Scope} may send again")]
    public static partial void Resumed(ILogger logger, string scope);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read the pauses between mails ({Reason}); the last ones read stand until the next pass")]
    public static partial void PausesNotRead(ILogger logger, string reason);
}
