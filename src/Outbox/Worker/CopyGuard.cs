using Microsoft.Extensions.Logging;
using Outbox.Storage;
using Outbox.Storage.Admin;

namespace Outbox.Worker;

/// <summary>
/// Before each dispatch pass: is the database still the one the outbox was installed in (or
/// adopted)? The connection string may come to point at a copy while the worker runs (a restore
/// in place, a DNS switch). Two small reads per pass, not per mail. Says so once when the answer
/// changes, not at every poll.
/// </summary>
public sealed partial class CopyGuard(OutboxDatabase database, ILogger<CopyGuard> logger)
{
    private string? _refused;

    /// <summary>Why the last check refused to send, or null.</summary>
    public string? Refused => _refused;

    public async Task<bool> MaySendAsync(CancellationToken cancellationToken)
    {
        var identity = await DatabaseIdentity.ReadAsync(database, cancellationToken).ConfigureAwait(false);
        if (identity.Problem is { } problem)
        {
            if (problem != _refused)
            {
                NotSending(logger, problem, identity.Remedy);
            }
        }
        else if (_refused is not null)
        {
            Sending(logger, identity.Current);
        }

        _refused = identity.Problem;
        return _refused is null;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Not sending: {Problem}. {Remedy}")]
    private static partial void NotSending(ILogger logger, string problem, string remedy);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sending again: the database is {Identity}, as recorded")]
    private static partial void Sending(ILogger logger, string identity);
}
