namespace Outbox.Core.Sending;

/// <summary>
/// No account of a mail's profile could take it now (each was unreachable, refused service, or
/// is resting after such a failure): not the mail's fault, so no attempt is charged.
/// </summary>
public sealed class AccountsUnavailableException : Exception
{
    public AccountsUnavailableException()
    {
    }

    public AccountsUnavailableException(string message)
        : base(message)
    {
    }

    public AccountsUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
