namespace Outbox.Core.Sending.Accounts;

/// <summary>
/// A named route for mail (configuration: Outbox:Profiles:NAME): the accounts to try, in order
/// of preference, and the sender domains whose mail takes this profile when it names none.
/// </summary>
public sealed class MailProfile
{
    public IList<string> Accounts { get; } = [];

    public IList<string> SenderDomains { get; } = [];
}
