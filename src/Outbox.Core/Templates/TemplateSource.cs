namespace Outbox.Core.Templates;

/// <summary>
/// A template as stored in outbox_template (and copied into a mail at enqueue): Liquid text for
/// the subject and for at least one body. <see cref="Locale"/> is null for the default row.
/// </summary>
public sealed record TemplateSource(string Name, string? Locale, string Subject, string? TextBody, string? HtmlBody)
{
    /// <summary>"order_confirmation" or "order_confirmation (de)", as errors name it.</summary>
    public string Label => Locale is null ? Name : $"{Name} ({Locale})";
}
