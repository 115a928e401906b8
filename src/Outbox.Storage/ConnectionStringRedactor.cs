using System.ComponentModel;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Outbox.Storage;

/// <summary>
/// A connection string fit to show: every value that the provider's own connection-string
/// builder treats as a password (under any of the spellings it accepts, such as Npgsql's "Psw",
/// "Pwd" or "SSL Password") replaced, the rest kept so the host and user stay visible.
/// </summary>
public static class ConnectionStringRedactor
{
    public const string Mask = "***";

    /// <summary>The redacted string, or a note saying it could not be read; never the password.</summary>
    public static string Redact(string provider, string connectionString)
    {
        try
        {
            var (builder, secrets) = Parse(provider, connectionString);
            foreach (var secret in secrets)
            {
                secret.Set(builder, Mask);
            }

            return builder.ConnectionString;
        }
        catch (Exception ex) when (IsUnreadable(ex))
        {
            return "(not shown: it could not be read as a connection string of this provider)";
        }
    }

    /// <summary>
    /// The password values the connection string holds, under whatever key the provider accepts
    /// for them, to be removed from text that is shown. A string the provider's builder refuses is
    /// read by key name instead, so a password in it is still found.
    /// </summary>
    public static IReadOnlyList<string> Passwords(string provider, string? connectionString)
    {
        if (string.IsNullOrEmpty(connectionString))
        {
            return [];
        }

        try
        {
            return Parse(provider, connectionString).Secrets.Select(s => s.Value).ToList();
        }
        catch (Exception ex) when (IsUnreadable(ex))
        {
            try
            {
                var generic = new DbConnectionStringBuilder { ConnectionString = connectionString };
                return ByKeyName(generic).Select(s => s.Value).ToList();
            }
            catch (ArgumentException)
            {
                return [];
            }
        }
    }

    private static bool IsUnreadable(Exception ex) => ex is ArgumentException or FormatException or InvalidCastException or KeyNotFoundException;

    private static (DbConnectionStringBuilder Builder, List<Secret> Secrets) Parse(string provider, string connectionString)
    {
        DbConnectionStringBuilder builder = provider.Trim().ToLowerInvariant() switch
        {
            // The spellings OutboxDatabase accepts for PostgreSQL.
            "postgresql" or "postgres" or "npgsql" => new NpgsqlConnectionStringBuilder(connectionString),
            "sqlite" => new SqliteConnectionStringBuilder(connectionString),
            _ => new DbConnectionStringBuilder { ConnectionString = connectionString },
        };
        return (builder, builder.GetType() == typeof(DbConnectionStringBuilder) ? ByKeyName(builder) : ByPasswordProperties(builder));
    }

    // A typed builder has parsed every alias into its canonical property; the ones it marks as
    // password text (PasswordPropertyTextAttribute) are the secrets.
    private static List<Secret> ByPasswordProperties(DbConnectionStringBuilder builder) =>
        builder.GetType().GetProperties()
            .Where(p => p.CanWrite && p.PropertyType == typeof(string)
                && (p.GetCustomAttributes(typeof(PasswordPropertyTextAttribute), true).OfType<PasswordPropertyTextAttribute>().Any(a => a.Password)
                    || p.Name.Contains("Password", StringComparison.OrdinalIgnoreCase)))
            .Select(p => (Property: p, Value: p.GetValue(builder) as string))
            .Where(p => !string.IsNullOrEmpty(p.Value))
            .Select(p => new Secret(p.Value!, (b, v) => p.Property.SetValue(b, v)))
            .ToList();

    // ODP.NET's builder is not referenced here (the driver is loaded at run time), so its keys
    // are judged by name: ODP.NET's secrets are "Password" and "Proxy Password" (and the usual "Pwd"),
    // and a key holding "password" or "pwd" in any spelling ("User Password", "PSW") is taken as one.
    private static List<Secret> ByKeyName(DbConnectionStringBuilder builder) =>
        builder.Keys.Cast<string>()
            .Where(key =>
            {
                var bare = key.Replace(" ", string.Empty, StringComparison.Ordinal).Replace("_", string.Empty, StringComparison.Ordinal);
                return bare.Contains("password", StringComparison.OrdinalIgnoreCase)
                    || bare.Equals("pwd", StringComparison.OrdinalIgnoreCase) || bare.Equals("psw", StringComparison.OrdinalIgnoreCase);
            })
            .Select(key => (Key: key, Value: builder[key]?.ToString()))
            .Where(k => !string.IsNullOrEmpty(k.Value))
            .Select(k => new Secret(k.Value!, (b, v) => b[k.Key] = v))
            .ToList();

    // A password's value and how to replace it in its builder.
    private sealed record Secret(string Value, Action<DbConnectionStringBuilder, string> Set);
}
