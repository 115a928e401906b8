namespace Outbox.Worker;

/// <summary>A part of the running worker failed and stopped it; the command exits non-zero with the reason.</summary>
public sealed class WorkerFailedException : Exception
{
    public WorkerFailedException()
    {
    }

    public WorkerFailedException(string message)
        : base(message)
    {
    }

    public WorkerFailedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
