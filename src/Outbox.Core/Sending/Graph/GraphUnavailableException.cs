namespace Outbox.Core.Sending.Graph;

/// <summary>
/// Graph could not be reached, or answered that it cannot serve now (502, 503 or 504 without
/// Retry-After), before it could have taken the mail: not the mail's fault, so it waits
/// uncharged, and a profile may try its next account.
/// </summary>
public sealed class GraphUnavailableException : Exception
{
    public GraphUnavailableException()
    {
    }

    public GraphUnavailableException(string message)
        : base(message)
    {
    }

    public GraphUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
