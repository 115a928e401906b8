namespace Outbox.Core.Validation;

/// <summary>
/// Input that cannot become a mail. <see cref="Field"/> names the parameter or option at fault;
/// the message says what is wrong and what to do.
/// </summary>
public sealed class MailValidationException : Exception
{
    public MailValidationException(string field, string problem, string hint)
        : base($"{field}: {problem}. {hint}")
    {
        Field = field;
    }

    public MailValidationException()
    {
        Field = string.Empty;
    }

    public MailValidationException(string message)
        : base(message)
    {
        Field = string.Empty;
    }

    public MailValidationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Field = string.Empty;
    }

    public string Field { get; }
}
