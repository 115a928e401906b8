namespace Outbox.Storage.Templates;

/// <summary>One row of outbox_template, as `outbox template list / show` print it. Times are ISO 8601 UTC text.</summary>
public sealed class TemplateRow
{
    public string Name { get; init; } = string.Empty;

    public string? Locale { get; init; }

    public string Subject { get; init; } = string.Empty;

    public string? TextBody { get; init; }

    public string? HtmlBody { get; init; }

    public string? CreatedAt { get; init; }

    public string? CreatedBy { get; init; }

    public string? ChangedAt { get; init; }

    public string? ChangedBy { get; init; }
}
