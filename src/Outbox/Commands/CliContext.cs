using System.CommandLine;
using System.Data.Common;
using System.Text.Json;
using Outbox.Configuration;
using Outbox.Core.Sending;
using Outbox.Core.Validation;

namespace Outbox.Commands;

/// <summary>
/// What every command shares: the global options, the output writers, and one way of turning
/// failures into a single clear line and a non-zero exit code (a stack trace only with --verbose).
/// </summary>
public sealed class CliContext(TextWriter output, TextWriter error)
{
    // Non-ASCII text and < > & stay as they are ("Grüße", not "Gr\u00FC\u00DFe"): the output is read by
    // scripts and people, never pasted into HTML; control characters and quotes are still escaped.
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public Option<string?> Config { get; } = new("--config", "-c")
    {
        Description = $"Configuration file (default: the file {ConfigVariable} names, else {OutboxConfiguration.DefaultPath} when present, else the embedded default)",
        Recursive = true,
    };

    /// <summary>The environment variable that names the configuration file when --config is not given, so an operator need not repeat it.</summary>
    public const string ConfigVariable = "OUTBOX_CONFIG";

    public Option<bool> Verbose { get; } = new("--verbose", "-v")
    {
        Description = "Debug logging, and stack traces with errors",
        Recursive = true,
    };

    public Option<bool> JsonOutput { get; } = new("--json")
    {
        Description = "Print JSON for scripts instead of text for people",
    };

    /// <summary>Text for people: control characters in what is printed are escaped.</summary>
    public TextWriter Out { get; } = new PrintableWriter(output);

    public TextWriter Error { get; } = new PrintableWriter(error);

    /// <summary>stderr as it is, for the progress line, which rewrites itself with a carriage return around numbers only.</summary>
    internal TextWriter ProgressError { get; } = error;

    /// <summary>stdout as bytes, for output that is not text (`show --eml`); the text writers are flushed first.</summary>
    public Stream OpenStandardOutput()
    {
        Out.Flush();
        return Console.OpenStandardOutput();
    }

    // JSON escapes control characters itself, and a script reads it back unchanged.
    public void WriteJson<T>(T value) => output.WriteLine(JsonSerializer.Serialize(value, Json));

    /// <summary>Runs a command's body with the loaded configuration, reporting failures as one line.</summary>
    public Task<int> RunAsync(ParseResult parse, Func<OutboxOptions, Task<int>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        return RunAsync(parse, (options, _) => body(options));
    }

    // Only the commands that reach the SMTP server need the files its settings name (a systemd
    // credential exists only while the service runs; status, list or retry must work without it).
    private static string? SmtpFilesNeededBy(ParseResult parse)
    {
        var command = parse.CommandResult.Command;
        return command.Name switch
        {
            "run" => "outbox run",
            "smtp" when command.Parents.OfType<Command>().Any(p => p.Name == "check") => "outbox check smtp",
            _ => null,
        };
    }

    /// <summary>As above, with the configuration's layers, for a command that tells where a value came from.</summary>
    public async Task<int> RunAsync(ParseResult parse, Func<OutboxOptions, Microsoft.Extensions.Configuration.IConfigurationRoot, Task<int>> body)
    {
        ArgumentNullException.ThrowIfNull(parse);
        ArgumentNullException.ThrowIfNull(body);
        try
        {
            var (options, layers) = OutboxConfiguration.LoadWithLayers(parse.GetValue(Config) ?? NonEmpty(Environment.GetEnvironmentVariable(ConfigVariable)), SmtpFilesNeededBy(parse));
            return await body(options, layers).ConfigureAwait(false);
        }
        catch (Exception ex) when (Describe(ex) is { } message)
        {
            // A configuration lists every problem on a line of its own.
            var lines = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var line in lines)
            {
                await Error.WriteLineAsync($"outbox: {line}").ConfigureAwait(false);
            }

            if (parse.GetValue(Verbose))
            {
                await Error.WriteLineAsync(ex.ToString()).ConfigureAwait(false);
            }

            var code = ExitCodeOf(ex);
            if (WantsJson(parse))
            {
                WriteJsonError(code, lines);
            }

            return code;
        }
    }

    /// <summary>Whether the command asked for JSON: then even a failure leaves one JSON document on stdout.</summary>
    public bool WantsJson(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        // Read from the tokens, not GetValue: on a command line with errors the value may not parse.
        return parse.CommandResult.Command.Options.Contains(JsonOutput)
            && parse.GetResult(JsonOutput) is { Implicit: false } given
            && (given.Tokens.Count == 0 || !given.Tokens[^1].Value.Equals("false", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>A failure for a script: {"ok": false, "exitCode": 3, "errors": ["Outbox:Smtp:Port: …"]}, the same lines stderr has.</summary>
    public void WriteJsonError(int exitCode, IEnumerable<string> errors) => WriteJson(new { ok = false, exitCode, errors });

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static int ExitCodeOf(Exception exception) => exception switch
    {
        ConfigurationException or TransportConfigurationException => ExitCodes.Configuration,
        MailValidationException invalid => invalid.Field.StartsWith("Outbox:", StringComparison.Ordinal) ? ExitCodes.Configuration : ExitCodes.Usage,
        DbException or Core.Dispatch.OutcomesNotRecordedException => ExitCodes.Unreachable,
        IOException or UnauthorizedAccessException => ExitCodes.Usage,
        _ => ExitCodes.Failed,
    };

    private static string? Describe(Exception exception) => exception switch
    {
        MailValidationException or ConfigurationException or TransportConfigurationException or Worker.WorkerFailedException
            or Core.Dispatch.OutcomesNotRecordedException => exception.Message,
        DbException db => $"database error: {db.Message} (check Outbox:Database:ConnectionString and the outbox schema)",
        IOException or UnauthorizedAccessException => exception.Message,
        OperationCanceledException => "cancelled",
        _ => null,
    };
}
