namespace Outbox.Core.Sending;

/// <summary>
/// Outbox:Safety, for a system that is not production (test, staging, a developer's machine):
/// mail goes only to addresses someone chose. A recipient in one of <see cref="AllowedDomains"/>
/// gets the mail as usual; every other recipient is replaced by <see cref="RedirectTo"/>, or,
/// when that is empty, dropped (recorded rejected). Both empty: the worker sends as addressed.
/// </summary>
public sealed class SafetyOptions
{
    /// <summary>Most addresses in RedirectTo, and most domains in AllowedDomains.</summary>
    public const int MaxEntries = 50;

    /// <summary>The addresses that get every mail meant for a recipient outside AllowedDomains ("qa@test.example.com").</summary>
    public IList<string> RedirectTo { get; } = [];

    /// <summary>Domains whose recipients get the mail as addressed ("example.com": exactly that domain, not its subdomains).</summary>
    public IList<string> AllowedDomains { get; } = [];

    // A method, not a property: every property of an options class is a configuration key.
    public bool IsActive() => RedirectTo.Count > 0 || AllowedDomains.Count > 0;

    /// <summary>What the worker does with recipients, in one line for `run`'s start line, status and the dashboard; null when it sends as addressed.</summary>
    public string? Describe()
    {
        if (!IsActive())
        {
            return null;
        }

        var others = RedirectTo.Count > 0 ? $"redirected to {Listed(RedirectTo)}" : "dropped (recorded rejected)";
        return AllowedDomains.Count > 0
            ? $"Outbox:Safety: only recipients in {Listed(AllowedDomains)} get mail; every other recipient is {others}"
            : $"Outbox:Safety: every mail is {others}, not sent to its recipients";
    }

    // One line, however long the lists: the first five, then how many more.
    private static string Listed(IList<string> values) =>
        string.Join(", ", values.Take(5).Select(v => v.Trim())) + (values.Count > 5 ? $" and {values.Count - 5} more" : string.Empty);
}
