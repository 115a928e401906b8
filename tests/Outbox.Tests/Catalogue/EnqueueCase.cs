namespace Outbox.Tests.Catalogue;

/// <summary>What an enqueue value is: the parameter it is passed as.</summary>
public enum ValueKind
{
    Address,
    FileName,
    MimeType,
    IdempotencyKey,
}

/// <summary>
/// One value fed to every validator: accepted (and then sendable by the worker) or refused with
/// an error naming the field. <paramref name="Why"/> says what the case is about.
/// </summary>
public sealed record EnqueueCase(ValueKind Kind, string Value, bool Accepted, string Why)
{
    public override string ToString() => $"{Kind} {(Accepted ? "ok" : "refused")}: {Why}";
}
