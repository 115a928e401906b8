using System.Security.Cryptography;
using System.Text;
using Outbox.Configuration;

namespace Outbox.Dashboard;

/// <summary>The one login the dashboard accepts (HTTP Basic), compared in constant time.</summary>
public sealed class DashboardLogin
{
    private readonly byte[] _expected;

    private DashboardLogin(string userName, string password)
    {
        UserName = userName;
        _expected = Hash(userName, password);
    }

    public string UserName { get; }

    /// <summary>The login of valid options, the password read from its file; null when none is configured.</summary>
    public static DashboardLogin? From(DashboardOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrEmpty(options.UserName))
        {
            return null;
        }

        var password = PasswordOf(options);
        if (string.IsNullOrEmpty(password))
        {
            throw new ConfigurationException($"Outbox:Dashboard:{(string.IsNullOrEmpty(options.PasswordFile) ? "Password" : "PasswordFile")}: the password is empty.");
        }

        return new DashboardLogin(options.UserName, password);
    }

    /// <summary>The password: Password, else the content of PasswordFile (one trailing line break dropped); null when neither is set.</summary>
    public static string? PasswordOf(DashboardOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrEmpty(options.PasswordFile))
        {
            return options.Password;
        }

        string password;
        try
        {
            password = File.ReadAllText(options.PasswordFile);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ConfigurationException($"Outbox:Dashboard:PasswordFile: cannot read {options.PasswordFile} ({ex.Message})", ex);
        }

        // A file written with echo ends with a line break that is no part of the password.
        return password.EndsWith("\r\n", StringComparison.Ordinal) ? password[..^2] : password.EndsWith('\n') ? password[..^1] : password;
    }

    /// <summary>Whether an Authorization header carries this login; a header of any other shape is no login.</summary>
    public bool Accepts(string? authorization)
    {
        const string Scheme = "Basic ";
        // A Basic header of a reasonable login is far below this; a bigger one is not decoded.
        if (authorization is null || authorization.Length > 4096 || !authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(authorization[Scheme.Length..].Trim()));
        }
        catch (FormatException)
        {
            return false;
        }

        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && CryptographicOperations.FixedTimeEquals(Hash(decoded[..colon], decoded[(colon + 1)..]), _expected);
    }

    // Hashes of equal length, so the comparison takes the same time whatever was sent.
    private static byte[] Hash(string userName, string password) => SHA256.HashData(Encoding.UTF8.GetBytes($"{userName}:{password}"));
}
