using System.ComponentModel;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Outbox.Storage;

/// <summary>
/// A connection string fit to show: every value that the provider's own connection-string
/// builder treats as a password (under any of the spellings it accepts, such as Npgsql's "Psw"
/// or "SSL Password") replaced, the rest kept so the host and user stay visible.
/// </summary>
public static class ConnectionStringRedactor
{
    public const string Mask = "***";

    /// <summary>The redacted string, or a note saying it could not be read; never the password.</summary>
    public static string Redact(string provider, string connectionString)
    {
        try
        {
            return provider.ToLowerInvariant() switch
            {
                "postgresql" => ByPasswordProperties(new NpgsqlConnectionStringBuilder(connectionString)),
                "sqlite" => ByPasswordProperties(new SqliteConnectionStringBuilder(connectionString)),
                _ => ByKeyName(new DbConnectionStringBuilder { ConnectionString = connectionString }),
            };
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or InvalidCastException or KeyNotFoundException)
        {
            return "(not shown: it could not be read as a connection string of this provider)";
        }
    }

    // A typed builder has parsed every alias into its canonical property; the ones it marks as
    // password text (PasswordPropertyTextAttribute) are the secrets.
    private static string ByPasswordProperties(DbConnectionStringBuilder builder)
    {
        foreach (var property in builder.GetType().GetProperties())
        {
            var secret = property.GetCustomAttributes(typeof(PasswordPropertyTextAttribute), true).OfType<PasswordPropertyTextAttribute>().Any(a => a.Password)
                || property.Name.Contains("Password", StringComparison.OrdinalIgnoreCase);
            if (secret && property.CanWrite && property.PropertyType == typeof(string) && property.GetValue(builder) is string { Length: > 0 })
            {
                property.SetValue(builder, Mask);
            }
        }

        return builder.ConnectionString;
    }

    // ODP.NET's builder is not referenced here (the driver is loaded at run time), so its keys
    // are judged by name: ODP.NET's secrets are "Password" and "Proxy Password" (and the usual "Pwd").
    private static string ByKeyName(DbConnectionStringBuilder builder)
    {
        foreach (var key in builder.Keys.Cast<string>().ToList())
        {
            var bare = key.Replace(" ", string.Empty, StringComparison.Ordinal).Replace("_", string.Empty, StringComparison.Ordinal);
            if (bare.Contains("password", StringComparison.OrdinalIgnoreCase) || bare.Equals("pwd", StringComparison.OrdinalIgnoreCase))
            {
                builder[key] = Mask;
            }
        }

        return builder.ConnectionString;
    }
}
