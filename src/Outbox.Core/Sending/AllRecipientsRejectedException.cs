namespace Outbox.Core.Sending;

/// <summary>The server refused every recipient of a mail, so no DATA was sent.</summary>
public sealed class AllRecipientsRejectedException : Exception
{
    public AllRecipientsRejectedException(IReadOnlyList<RecipientRejection> rejections)
        : base("every recipient was refused: " + string.Join("; ", rejections))
    {
        Rejections = rejections;
    }

    public AllRecipientsRejectedException()
    {
        Rejections = [];
    }

    public AllRecipientsRejectedException(string message)
        : base(message)
    {
        Rejections = [];
    }

    public AllRecipientsRejectedException(string message, Exception innerException)
        : base(message, innerException)
    {
        Rejections = [];
    }

    public IReadOnlyList<RecipientRejection> Rejections { get; }
}
