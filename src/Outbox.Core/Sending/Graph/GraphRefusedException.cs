namespace Outbox.Core.Sending.Graph;

/// <summary>Graph refused this mail (a 4xx about the mail, or a 500): the mail fails, or is retried for a 5xx.</summary>
public sealed class GraphRefusedException : Exception
{
    public GraphRefusedException(int status, string message)
        : base(message)
    {
        Status = status;
    }

    public GraphRefusedException()
    {
    }

    public GraphRefusedException(string message)
        : base(message)
    {
    }

    public GraphRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The HTTP status: 4xx fails the mail, 5xx is tried again later.</summary>
    public int Status { get; }

    public bool IsPermanent => Status is >= 400 and < 500;
}
