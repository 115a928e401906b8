using Outbox.Configuration;
using Outbox.Core.Secrets;
using Outbox.Storage;

namespace Outbox.Dashboard;

/// <summary>
/// Every secret the configuration holds (SMTP passwords and OAuth2 secrets of every account, the
/// database password, the dashboard's own password), to be removed from each page as it leaves:
/// replies and errors are scrubbed when stored, and this makes sure of it once more, in the
/// forms the text takes in HTML too.
/// </summary>
public static class DashboardSecrets
{
    public static SecretScrubber Of(OutboxOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        // Every password of the connection string, under any key its provider accepts (Npgsql's Password, Pwd, Psw, SSL Password, ...).
        var secrets = new List<string?> { DashboardLogin.PasswordOf(options.Dashboard) };
        secrets.AddRange(ConnectionStringRedactor.Passwords(options.Database.Provider, options.Database.ConnectionString));
        foreach (var smtp in options.Accounts.Values.Append(options.Smtp))
        {
            secrets.Add(smtp.Password);
            secrets.Add(smtp.OAuth2.ClientSecret);
            secrets.Add(smtp.OAuth2.CertificatePassword);
            secrets.Add(Contents(smtp.PasswordFile));
            secrets.Add(Contents(smtp.OAuth2.ClientSecretFile));
        }

        // Outbox:Graph's app credentials (Transport graph).
        secrets.Add(options.Graph.OAuth2.ClientSecret);
        secrets.Add(options.Graph.OAuth2.CertificatePassword);
        secrets.Add(Contents(options.Graph.OAuth2.ClientSecretFile));

        return new SecretScrubber(secrets.Concat(secrets.Select(s => s is null ? null : Html.Encode(s))).Distinct(StringComparer.Ordinal));
    }

    // A file that cannot be read holds nothing that can leak; sending reports it.
    private static string? Contents(string? file)
    {
        try
        {
            return string.IsNullOrEmpty(file) ? null : File.ReadAllText(file).TrimEnd('\r', '\n');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
