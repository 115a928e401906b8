namespace Outbox.Core.Sending;

/// <summary>Finds the SMTP password: the Password key (config file or Outbox__Smtp__Password), else PasswordFile.</summary>
public static class SmtpPassword
{
    public static string? Resolve(SmtpOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!string.IsNullOrEmpty(options.Password))
        {
            return options.Password;
        }

        if (string.IsNullOrWhiteSpace(options.PasswordFile))
        {
            return null;
        }

        try
        {
            return File.ReadAllText(options.PasswordFile).TrimEnd('\r', '\n');
        }
        catch (IOException ex)
        {
            throw new TransportConfigurationException($"Outbox:Smtp:PasswordFile: cannot read {options.PasswordFile} ({ex.Message})", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new TransportConfigurationException($"Outbox:Smtp:PasswordFile: no permission to read {options.PasswordFile}", ex);
        }
    }
}
