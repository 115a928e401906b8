using Outbox.Core.Messages;

namespace Outbox.Core.Sending.Accounts;

/// <summary>
/// A lane's sessions with several accounts, opened as mails need them and kept open. Sends
/// each mail through the first account of its route that is not resting, has a rate-limit slot,
/// has a free connection slot (or a session open already) and can be reached.
/// </summary>
internal sealed class RoutedSession(RoutedTransport transport) : IMailSession
{
    private readonly Dictionary<RoutedTransport.Account, (IMailSession Session, ConnectionLease? Lease)> _sessions = [];
    private IMailSession? _last;

    public bool IsConnected => _last?.IsConnected ?? true;

    // A lost or exhausted session is replaced here, account by account.
    public bool CanSendMore => true;

    public string Account { get; private set; } = string.Empty;

    public async Task<DeliveryResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        var (profile, accounts) = transport.Route(message);
        var unusable = new List<Exception>();
        var atLimit = new List<string>();
        TimeSpan? wait = null;
        void Wait(TimeSpan left, string why)
        {
            wait = wait is null || left < wait ? left : wait;
            atLimit.Add(why);
        }

        foreach (var account in accounts)
        {
            if (transport.IsResting(account, out var reason, out var left))
            {
                if (reason is RateLimitedException limited)
                {
                    Wait(left, limited.Message);
                }
                else
                {
                    unusable.Add(reason!);
                }

                continue;
            }

            var slot = await transport.ReserveAsync(account, message.Recipients.Count, cancellationToken).ConfigureAwait(false);
            if (slot is { Granted: false, RetryAfter: { } frees })
            {
                Wait(frees, $"account {account.Name} has used its rate limits {string.Join(", ", account.RateLimits)}");
                continue;
            }

            IMailSession? session;
            try
            {
                session = await SessionForAsync(account, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (RoutedTransport.AccountUnusable(ex))
            {
                await transport.ReleaseAsync(account, slot, used: false).ConfigureAwait(false);
                transport.Rest(account, ex);
                unusable.Add(ex);
                continue;
            }
            catch (AccountThrottledException ex)
            {
                // Too many sessions or logins (421 4.7.0 to the greeting, 454 4.7.0).
                await transport.ReleaseAsync(account, slot, used: false).ConfigureAwait(false);
                var backoff = transport.Throttle(account, ex, ex.RetryAfter);
                Wait(backoff, ex.Message);
                continue;
            }
            catch
            {
                await transport.ReleaseAsync(account, slot, used: false).ConfigureAwait(false);
                throw;
            }

            if (session is null)
            {
                // Every connection the account allows is open, in this worker or another.
                await transport.ReleaseAsync(account, slot, used: false).ConfigureAwait(false);
                Wait(transport.ConnectionWait, $"account {account.Name} has all its {account.MaxConnections} connections open");
                continue;
            }

            Account = account.Name;
            _last = session;
            var used = true;
            try
            {
                var result = await session.SendAsync(message, cancellationToken).ConfigureAwait(false);
                transport.Succeeded(account);
                return result;
            }
            catch (Exception ex) when (RoutedTransport.AccountUnusable(ex))
            {
                // 421 to MAIL or RCPT: the server took nothing; the next account may.
                used = false;
                await DropAsync(account).ConfigureAwait(false);
                transport.Rest(account, ex);
                unusable.Add(ex);
            }
            catch (AccountThrottledException ex)
            {
                // The server throttles this account (432 4.3.2 and the like): it took nothing,
                // and its session is given up, freeing its connection; the next account may.
                used = false;
                await DropAsync(account).ConfigureAwait(false);
                Wait(transport.Throttle(account, ex, ex.RetryAfter), ex.Message);
            }
            catch (Exception ex) when (ex is Dispatch.MailExpiredException or Dispatch.LeaseLostException)
            {
                // The mark refused (the mail expired, or another worker holds it now): nothing
                // went to the account, so its rate-limit slot goes back.
                used = false;
                throw;
            }
            catch (RateLimitedException ex)
            {
                // Graph's 429: it took nothing, and named its wait; the next account may.
                used = false;
                Wait(transport.Throttle(account, ex, ex.RetryAfter), ex.Message);
            }
            finally
            {
                await transport.ReleaseAsync(account, slot, used).ConfigureAwait(false);
            }
        }

        if (wait is { } retryAfter)
        {
            throw new RateLimitedException(
                $"every usable account of profile \"{profile}\" is at its rate limit ({string.Join("; ", atLimit)}); the next slot frees in {retryAfter:hh\\:mm\\:ss}", retryAfter);
        }

        if (unusable.Count > 0 && unusable.All(e => e is TransportConfigurationException))
        {
            throw unusable[^1];
        }

        throw new AccountsUnavailableException(
            $"no account of profile \"{profile}\" can take mail now: {string.Join("; ", unusable.Select(e => e.Message))}");
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var account in _sessions.Keys.ToList())
        {
            await DropAsync(account).ConfigureAwait(false);
        }
    }

    // The account's open session, or a new one in a connection slot; null when none is free.
    private async Task<IMailSession?> SessionForAsync(RoutedTransport.Account account, CancellationToken cancellationToken)
    {
        if (_sessions.TryGetValue(account, out var open))
        {
            if (open.Session.CanSendMore && open.Lease is not { Lost: true })
            {
                return open.Session;
            }

            await DropAsync(account).ConfigureAwait(false);
        }

        var (granted, lease) = await transport.TakeConnectionAsync(account, cancellationToken).ConfigureAwait(false);
        if (!granted)
        {
            return null;
        }

        try
        {
            var session = await account.Transport.OpenAsync(cancellationToken).ConfigureAwait(false);
            _sessions[account] = (session, lease);
            return session;
        }
        catch
        {
            if (lease is not null)
            {
                await lease.DisposeAsync().ConfigureAwait(false);
            }

            throw;
        }
    }

    private async Task DropAsync(RoutedTransport.Account account)
    {
        if (!_sessions.Remove(account, out var open))
        {
            return;
        }

        if (ReferenceEquals(_last, open.Session))
        {
            _last = null;
        }

        try
        {
            await open.Session.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            if (open.Lease is not null)
            {
                await open.Lease.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
