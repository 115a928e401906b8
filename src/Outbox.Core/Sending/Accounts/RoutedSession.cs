using Outbox.Core.Messages;

namespace Outbox.Core.Sending.Accounts;

/// <summary>
/// A lane's sessions with several accounts, opened as mails need them and kept open. Sends
/// each mail through the first account of its route that is not resting, has a rate-limit slot
/// and can be reached.
/// </summary>
internal sealed class RoutedSession(RoutedTransport transport) : IMailSession
{
    private readonly Dictionary<RoutedTransport.Account, IMailSession> _sessions = [];
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
        TimeSpan? wait = null;
        RateLimitedException? throttled = null;
        foreach (var account in accounts)
        {
            if (transport.IsResting(account, out var reason, out var left))
            {
                if (reason is RateLimitedException limited)
                {
                    throttled = limited;
                    wait = wait is null || left < wait ? left : wait;
                }
                else
                {
                    unusable.Add(reason!);
                }

                continue;
            }

            var slot = await transport.ReserveAsync(account, cancellationToken).ConfigureAwait(false);
            if (slot is { Granted: false })
            {
                wait = wait is null || slot.RetryAfter < wait ? slot.RetryAfter : wait;
                continue;
            }

            IMailSession session;
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
            catch
            {
                await transport.ReleaseAsync(account, slot, used: false).ConfigureAwait(false);
                throw;
            }

            Account = account.Name;
            _last = session;
            var used = true;
            try
            {
                return await session.SendAsync(message, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (RoutedTransport.AccountUnusable(ex))
            {
                // 421 to MAIL or RCPT: the server took nothing; the next account may.
                used = false;
                await DropAsync(account).ConfigureAwait(false);
                transport.Rest(account, ex);
                unusable.Add(ex);
            }
            catch (Dispatch.MailExpiredException)
            {
                // The mark found the mail expired: nothing went to the account, its slot goes back.
                used = false;
                throw;
            }
            catch (RateLimitedException ex)
            {
                // The server throttles this account (Graph's 429): it took nothing; the next account may.
                used = false;
                transport.Throttle(account, ex);
                throttled = ex;
                wait = wait is null || ex.RetryAfter < wait ? ex.RetryAfter : wait;
            }
            finally
            {
                await transport.ReleaseAsync(account, slot, used).ConfigureAwait(false);
            }
        }

        if (wait is { } retryAfter)
        {
            var why = throttled is null ? string.Empty : $" ({throttled.Message})";
            throw new RateLimitedException(
                $"every usable account of profile \"{profile}\" is at its rate limit{why}; the next slot frees in {retryAfter:hh\\:mm\\:ss}", retryAfter);
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

    private async Task<IMailSession> SessionForAsync(RoutedTransport.Account account, CancellationToken cancellationToken)
    {
        if (_sessions.TryGetValue(account, out var open))
        {
            if (open.CanSendMore)
            {
                return open;
            }

            await DropAsync(account).ConfigureAwait(false);
        }

        if (account.Connections is { } connections && !connections.Wait(0, CancellationToken.None))
        {
            // Waiting while holding other accounts' connections could deadlock two lanes.
            foreach (var other in _sessions.Keys.ToList())
            {
                await DropAsync(other).ConfigureAwait(false);
            }

            await connections.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            var session = await account.Transport.OpenAsync(cancellationToken).ConfigureAwait(false);
            _sessions[account] = session;
            return session;
        }
        catch
        {
            account.Connections?.Release();
            throw;
        }
    }

    private async Task DropAsync(RoutedTransport.Account account)
    {
        if (!_sessions.Remove(account, out var session))
        {
            return;
        }

        if (ReferenceEquals(_last, session))
        {
            _last = null;
        }

        await session.DisposeAsync().ConfigureAwait(false);
        account.Connections?.Release();
    }
}
