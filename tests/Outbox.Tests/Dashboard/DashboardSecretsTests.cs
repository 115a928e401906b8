using System.ComponentModel;
using System.Reflection;
using Npgsql;
using Outbox.Configuration;
using Outbox.Dashboard;
using Outbox.Storage;

namespace Outbox.Tests.Dashboard;

/// <summary>The database password leaves no dashboard page under any key its provider accepts for it.</summary>
public sealed class DashboardSecretsTests
{
    private const string Secret = "db-secret-7f3a";

    // Every key Npgsql itself takes for a password, read from its own builder, so a new alias is covered too.
    public static TheoryData<string> NpgsqlPasswordKeys()
    {
        var keys = new TheoryData<string>();
        foreach (var property in typeof(NpgsqlConnectionStringBuilder).GetProperties()
            .Where(p => p.GetCustomAttribute<PasswordPropertyTextAttribute>()?.Password == true || p.Name.Contains("Password", StringComparison.Ordinal)))
        {
            keys.Add(property.GetCustomAttribute<DisplayNameAttribute>()?.DisplayName ?? property.Name);
            // Npgsql keeps its aliases in an internal attribute.
            var aliases = property.GetCustomAttributes().FirstOrDefault(a => a.GetType().Name == "NpgsqlConnectionStringPropertyAttribute");
            foreach (var synonym in aliases?.GetType().GetProperty("Synonyms", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)?.GetValue(aliases) as string[] ?? [])
            {
                keys.Add(synonym);
            }
        }

        return keys;
    }

    [Theory]
    [MemberData(nameof(NpgsqlPasswordKeys))]
    public void Every_Npgsql_password_key_is_scrubbed(string key) =>
        AssertScrubbed("postgresql", $"Host=db.example.com;Username=outbox;{key}={Secret}");

    [Theory]
    [InlineData("postgres", "pwd")]
    [InlineData("npgsql", "PSW")]
    [InlineData("sqlite", "Password")]
    [InlineData("oracle", "Password")]
    [InlineData("oracle", "PWD")]
    [InlineData("oracle", "Proxy Password")]
    [InlineData("oracle", "User Password")]
    // A string its builder refuses still has its password found, by the key's name.
    [InlineData("postgresql", "User Password")]
    public void Each_provider_s_password_keys_are_scrubbed(string provider, string key) =>
        AssertScrubbed(provider, provider == "sqlite" ? $"Data Source=outbox.db;{key}={Secret}" : $"Data Source=db;User Id=outbox;{key}={Secret}");

    [Fact]
    public void The_Npgsql_aliases_include_the_usual_spellings() =>
        Assert.Superset(new HashSet<string>(["Password", "PWD", "PSW", "SSL Password"], StringComparer.OrdinalIgnoreCase),
            new HashSet<string>(NpgsqlPasswordKeys().Select(k => k.Data), StringComparer.OrdinalIgnoreCase));

    private static void AssertScrubbed(string provider, string connectionString)
    {
        var options = new OutboxOptions { Database = new DatabaseOptions { Provider = provider, ConnectionString = connectionString } };

        var page = DashboardSecrets.Of(options).Scrub($"<p>database error: password authentication failed ({Secret})</p>");

        Assert.DoesNotContain(Secret, page, StringComparison.Ordinal);
    }
}
