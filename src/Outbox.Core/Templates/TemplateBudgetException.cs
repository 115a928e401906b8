namespace Outbox.Core.Templates;

/// <summary>
/// Rendering went over one of <see cref="TemplateLimits"/>, or a filter failed; the message says
/// which. <see cref="Name"/> is the filter, capture or variable the template names it by (to find
/// its line), or null.
/// </summary>
internal sealed class TemplateBudgetException(string? name, string message) : Exception(message)
{
    public string? Name { get; } = name;
}
