namespace Outbox.Core.Sending;

/// <summary>
/// Finds a secret given either directly (a configuration key, usually set from the environment)
/// or as a file holding it (e.g. a systemd credential); trailing line breaks are ignored.
/// </summary>
public static class SmtpPassword
{
    /// <summary>The SMTP password: Outbox:Smtp:Password (or Outbox__Smtp__Password), else PasswordFile.</summary>
    public static string? Resolve(SmtpOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return Secret(options.Password, options.PasswordFile, "Outbox:Smtp:PasswordFile");
    }

    /// <summary>The value if set, else the file's content, else null.</summary>
    /// <param name="fileKey">The configuration key of the file, for the error when it cannot be read.</param>
    internal static string? Secret(string? value, string? file, string fileKey)
    {
        if (!string.IsNullOrEmpty(value))
        {
            return value;
        }

        if (string.IsNullOrWhiteSpace(file))
        {
            return null;
        }

        try
        {
            return File.ReadAllText(file).TrimEnd('\r', '\n');
        }
        catch (IOException ex)
        {
            throw new TransportConfigurationException($"{fileKey}: cannot read {file} ({ex.Message})", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new TransportConfigurationException($"{fileKey}: no permission to read {file}", ex);
        }
    }
}
