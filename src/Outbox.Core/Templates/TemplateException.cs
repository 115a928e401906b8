namespace Outbox.Core.Templates;

/// <summary>
/// A template that cannot be saved or rendered. The message is one line naming the template, the
/// part (subject, text body, html body), the line and, for data, the variable.
/// </summary>
public sealed class TemplateException : Exception
{
    public TemplateException()
    {
    }

    public TemplateException(string message)
        : base(message)
    {
    }

    public TemplateException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
