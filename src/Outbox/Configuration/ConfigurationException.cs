namespace Outbox.Configuration;

/// <summary>The configuration is invalid; <see cref="Exception.Message"/> lists every problem, one per line.</summary>
public sealed class ConfigurationException : Exception
{
    public ConfigurationException(IEnumerable<string> failures)
        : base("invalid configuration:" + Environment.NewLine + string.Join(Environment.NewLine, failures.Select(f => "  " + f)))
    {
    }

    public ConfigurationException()
    {
    }

    public ConfigurationException(string message)
        : base(message)
    {
    }

    public ConfigurationException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
