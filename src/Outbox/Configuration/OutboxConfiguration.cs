using Microsoft.Extensions.Configuration;
using Outbox.Core.Validation;

namespace Outbox.Configuration;

/// <summary>
/// Loads the configuration in layers: the embedded default (config/outbox.json as shipped),
/// then the file (--config, else ./config/outbox.json when present), then environment
/// variables (Outbox__Smtp__Password). Invalid settings are reported together.
/// </summary>
public static class OutboxConfiguration
{
    public const string DefaultPath = "config/outbox.json";

    public static IConfigurationRoot Build(string? configPath)
    {
        var builder = new ConfigurationBuilder();
        using var embedded = typeof(OutboxConfiguration).Assembly.GetManifestResourceStream("outbox.json")
            ?? throw new InvalidOperationException("the embedded default configuration is missing from the build");
        builder.AddJsonStream(CopyOf(embedded));
        if (configPath is not null)
        {
            var full = Path.GetFullPath(configPath);
            if (!File.Exists(full))
            {
                throw new MailValidationException("--config", $"the file {full} does not exist", "Pass the path of an outbox.json");
            }

            builder.AddJsonFile(full, optional: false);
        }
        else if (File.Exists(DefaultPath))
        {
            builder.AddJsonFile(Path.GetFullPath(DefaultPath), optional: false);
        }

        builder.AddEnvironmentVariables();
        try
        {
            return builder.Build();
        }
        catch (InvalidDataException ex) when (ex.InnerException is FormatException format)
        {
            var json = format.InnerException as System.Text.Json.JsonException;
            var where = json?.LineNumber is { } line ? $" at line {line + 1}, byte {json.BytePositionInLine + 1}" : string.Empty;
            throw new ConfigurationException(
                $"{configPath ?? DefaultPath}: not a configuration file{where}: {format.Message.TrimEnd('.')}. It must be a JSON object such as {{ \"Outbox\": {{ ... }} }}", ex);
        }
    }

    public static OutboxOptions Load(string? configPath) => LoadWithLayers(configPath).Options;

    /// <summary>The options, and the layers they were bound from (to tell where each value came from).</summary>
    /// <param name="smtpFilesNeededBy">The command that reaches the SMTP server, so the files its settings name must exist; null when it does not.</param>
    public static (OutboxOptions Options, IConfigurationRoot Layers) LoadWithLayers(string? configPath, string? smtpFilesNeededBy = "outbox run")
    {
        var configuration = Build(configPath);
        var (problems, values) = ConfigurationChecker.Check(configuration);
        var options = Bind(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
        // The embedded default writes .eml files. Whoever configures an SMTP server and no
        // transport means SMTP: keeping the pickup directory would "send" into a folder.
        if (!SetBeyondTheDefault(configuration, "Outbox:Transport") && (!string.IsNullOrWhiteSpace(options.Smtp.Host) || options.Accounts.Count > 0))
        {
            options.Transport = "smtp";
        }
        else if (!SetBeyondTheDefault(configuration, "Outbox:Transport") && !string.IsNullOrWhiteSpace(options.Graph.Mailbox))
        {
            options.Transport = "graph";
        }

        var result = new OutboxOptionsValidator(smtpFilesNeededBy).Validate(null, options);
        if (result.Failed)
        {
            // A value left out for its type gets its default, which the validator may refuse:
            // the type problem already names that key.
            var named = problems.Select(KeyOf).ToList();
            problems.AddRange(result.Failures.Where(f => !named.Any(k => k.StartsWith(KeyOf(f), StringComparison.OrdinalIgnoreCase))));
        }

        return problems.Count == 0 ? (options, configuration) : throw new ConfigurationException(problems.Distinct());
    }

    public static OutboxOptions Bind(IConfiguration configuration)
    {
        var options = new OutboxOptions();
        try
        {
            configuration.GetSection(OutboxOptions.SectionName).Bind(options);
        }
        catch (InvalidOperationException ex)
        {
            // The binder names the key and the value it could not convert.
            throw new ConfigurationException([ex.InnerException is null ? ex.Message : $"{ex.Message} {ex.InnerException.Message}"]);
        }

        return options;
    }

    private static string KeyOf(string problem) => problem.Split(": ", 2)[0];

    // The first provider is the embedded default; the others are the file and the environment.
    private static bool SetBeyondTheDefault(IConfigurationRoot configuration, string key) =>
        configuration.Providers.Skip(1).Any(provider => provider.TryGet(key, out _));

    // AddJsonStream reads the stream later, after this method returns.
    private static MemoryStream CopyOf(Stream stream)
    {
        var copy = new MemoryStream();
        stream.CopyTo(copy);
        copy.Position = 0;
        return copy;
    }
}
