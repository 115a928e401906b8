using Outbox.Configuration;
using Outbox.Core.Sending;
using Outbox.Core.Sending.Graph;
using Outbox.Storage;
using Outbox.Storage.Admin;

namespace Outbox.Dashboard;

/// <summary>
/// The last `check smtp` (one per account; `check graph` for an account with Transport graph) and `check db` run from the dashboard, kept in memory,
/// and the running of them again: one at a time, as each may wait for a server's timeout.
/// </summary>
public sealed class DashboardChecks(OutboxOptions options, OutboxDatabase database, TimeProvider clock) : IDisposable
{
    private readonly SemaphoreSlim _running = new(1, 1);
    private readonly Lock _lock = new();
    private readonly Dictionary<string, CheckResult> _results = new(StringComparer.Ordinal);

    /// <summary>The result of one check: when it ran, its steps, and its verdict.</summary>
    public sealed record CheckResult(string Name, DateTimeOffset At, IReadOnlyList<(string Step, bool Ok, string Detail)> Steps, bool Ok, string Verdict);

    public IReadOnlyList<CheckResult> Results
    {
        get
        {
            lock (_lock)
            {
                return _results.Values.OrderBy(r => r.Name, StringComparer.Ordinal).ToList();
            }
        }
    }

    /// <summary>Runs `check smtp` for every account, or `check db`; false when another check is still running.</summary>
    public async Task<bool> RunAsync(string which, CancellationToken cancellationToken)
    {
        if (!await _running.WaitAsync(0, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        try
        {
            if (which == "db")
            {
                var (steps, usable, _) = await new DatabaseCheck(database).RunAsync(cancellationToken).ConfigureAwait(false);
                Keep(new CheckResult("check db", clock.GetUtcNow(), steps.Select(s => (s.Step, s.Ok, s.Detail)).ToList(), usable, DatabaseCheck.Verdict(steps, usable)));
                return true;
            }

            foreach (var (name, smtp) in Accounts())
            {
                if (smtp.UsesGraph())
                {
                    // A Graph account has no SMTP server: its check is check graph's (a token, the mailbox; nothing sent).
                    var graph = smtp.ToGraph();
                    using var transport = new GraphTransport(graph, $"Outbox:Accounts:{name}", name);
                    var (graphSteps, ok) = await new GraphCheck(transport).RunAsync(cancellationToken).ConfigureAwait(false);
                    Keep(new CheckResult($"check graph ({name}, {graph.Mailbox})", clock.GetUtcNow(), graphSteps.Select(s => (s.Step, s.Ok, s.Detail)).ToList(), ok,
                        GraphCheck.Verdict(graph, graphSteps, ok)));
                    continue;
                }

                var sender = smtp.UserName?.Contains('@', StringComparison.Ordinal) == true ? smtp.UserName : null;
                var (steps, wouldSend) = await new SmtpCheck(smtp, sender).RunAsync(cancellationToken).ConfigureAwait(false);
                Keep(new CheckResult($"check smtp ({name}, {smtp.Host}:{smtp.Port})", clock.GetUtcNow(), steps.Select(s => (s.Step, s.Ok, s.Detail)).ToList(), wouldSend,
                    SmtpCheck.Verdict(smtp, steps, wouldSend)));
            }

            return true;
        }
        finally
        {
            _running.Release();
        }
    }

    /// <summary>Whether there is an SMTP server to check (Outbox:Transport smtp).</summary>
    public bool HasSmtp => options.Transport.Trim().Equals("smtp", StringComparison.OrdinalIgnoreCase);

    public void Dispose() => _running.Dispose();

    private IEnumerable<(string Name, SmtpOptions Smtp)> Accounts() =>
        !HasSmtp ? []
        : options.Accounts.Count == 0 ? [(SmtpTransport.DefaultAccount, options.Smtp)]
        : options.Accounts.Select(a => (a.Key, a.Value));

    private void Keep(CheckResult result)
    {
        lock (_lock)
        {
            _results[result.Name] = result;
        }
    }
}
