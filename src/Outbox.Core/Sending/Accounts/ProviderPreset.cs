namespace Outbox.Core.Sending.Accounts;

/// <summary>
/// The limits a provider publishes for one mailbox, named by Outbox:Accounts:NAME:Preset. Each
/// is a default: MaxConnections set on the account replaces the preset's, and a rate limit of
/// the account with the same Per and CountBy replaces the preset's one (others are added).
/// </summary>
public sealed record ProviderPreset(string Name, int MaxConnections, IReadOnlyList<RateLimit> RateLimits)
{
    /// <summary>
    /// Exchange Online (SMTP AUTH client submission): 3 concurrent connections and 30 messages a
    /// minute per mailbox; 10,000 recipients a day per mailbox (its recipient rate limit).
    /// </summary>
    public static readonly ProviderPreset Microsoft365 = new("microsoft365", 3,
    [
        new() { Messages = 30, Per = TimeSpan.FromMinutes(1) },
        new() { Messages = 10_000, Per = TimeSpan.FromDays(1), CountBy = RateCount.Recipients },
    ]);

    /// <summary>
    /// Microsoft Graph's Outlook service limits: 4 concurrent requests and 10,000 requests per 10
    /// minutes per app and mailbox; Exchange Online's 10,000 recipients a day per mailbox still holds.
    /// </summary>
    public static readonly ProviderPreset MicrosoftGraph = new("microsoft-graph", 4,
    [
        new() { Messages = 10_000, Per = TimeSpan.FromMinutes(10) },
        new() { Messages = 10_000, Per = TimeSpan.FromDays(1), CountBy = RateCount.Recipients },
    ]);

    public static IReadOnlyList<ProviderPreset> All { get; } = [Microsoft365, MicrosoftGraph];

    /// <summary>The preset of that name (case ignored), or null.</summary>
    public static ProviderPreset? Named(string name) =>
        All.FirstOrDefault(p => p.Name.Equals(name.Trim(), StringComparison.OrdinalIgnoreCase));

    /// <summary>The account's connection cap: its own MaxConnections when set, else this preset's.</summary>
    public int ConnectionsFor(int? own) => own ?? MaxConnections;

    /// <summary>The account's rate limits: its own, and each of this preset's that none of them replaces.</summary>
    public IList<RateLimit> RateLimitsFor(IEnumerable<RateLimit> own)
    {
        var limits = own.ToList();
        limits.AddRange(RateLimits.Where(p => !limits.Any(o => o.Per == p.Per && o.CountBy == p.CountBy)));
        return limits;
    }
}
