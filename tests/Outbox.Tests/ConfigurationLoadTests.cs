using Outbox.Configuration;

namespace Outbox.Tests;

/// <summary>How the layers of configuration combine into the options a command runs with.</summary>
public sealed class ConfigurationLoadTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-config-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Theory]
    [InlineData("""{ "Outbox": { "Smtp": { "Host": "mail.example.com" } } }""", "smtp")]
    [InlineData("""{ "Outbox": { "Accounts": { "main": { "Host": "mail.example.com" } }, "Profiles": { "default": { "Accounts": [ "main" ] } } } }""", "smtp")]
    [InlineData("""{ "Outbox": { "Transport": "pickup", "Smtp": { "Host": "mail.example.com" } } }""", "pickup")]
    [InlineData("""{ "Outbox": { "Dispatch": { "BatchSize": 10 } } }""", "pickup")]
    public void An_smtp_server_configured_without_a_transport_means_smtp_not_the_pickup_directory(string json, string transport)
    {
        var file = Path.Combine(_dir.FullName, "outbox.json");
        File.WriteAllText(file, json);

        Assert.Equal(transport, OutboxConfiguration.Load(file).Transport);
    }
}
