namespace Outbox.Core.Templates;

/// <summary>A template rendered with one mail's data: what the mail's subject and bodies become.</summary>
public sealed record RenderedTemplate(string Subject, string? TextBody, string? HtmlBody);
