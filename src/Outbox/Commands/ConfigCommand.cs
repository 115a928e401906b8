using System.CommandLine;
using Outbox.Configuration;

namespace Outbox.Commands;

/// <summary>`outbox config`: the configuration in effect after every layer, secrets redacted.</summary>
public static class ConfigCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("config", "Show the configuration in effect, each value with the layer that set it (default, file, environment), secrets redacted. Example: OUTBOX_CONFIG=/etc/outbox/outbox.json outbox config") { context.JsonOutput };
        command.SetAction((parse, cancellationToken) => context.RunAsync(parse, (options, layers) =>
        {
            var entries = EffectiveConfiguration.Describe(options, layers);
            if (parse.GetValue(context.JsonOutput))
            {
                context.WriteJson(entries.ToDictionary(e => e.Key, e => new { value = e.Value, source = e.Source }));
            }
            else
            {
                var keyWidth = entries.Max(e => e.Key.Length);
                var textWidth = Math.Min(60, entries.Max(e => e.Text.Length));
                foreach (var entry in entries)
                {
                    context.Out.WriteLine($"{entry.Key.PadRight(keyWidth)}  {entry.Text.PadRight(textWidth)}  {entry.Source}");
                }
            }

            return Task.FromResult(0);
        }));
        return command;
    }
}
