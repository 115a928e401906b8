namespace Outbox.Core.Templates;

/// <summary>Rendering went over one of <see cref="TemplateLimits"/>; the message says which.</summary>
internal sealed class TemplateBudgetException(string message) : Exception(message);
