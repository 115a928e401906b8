using System.CommandLine;
using Outbox.Configuration;

namespace Outbox.Commands;

/// <summary>`outbox config`: the configuration in effect after every layer, secrets redacted.</summary>
public static class ConfigCommand
{
    public static Command Create(CliContext context)
    {
        var command = new Command("config", "Show the configuration in effect (embedded default, file, environment), with secrets redacted. Example: outbox config --config /etc/outbox/outbox.json") { context.JsonOutput };
        command.SetAction((parse, cancellationToken) => context.RunAsync(parse, options =>
        {
            var lines = EffectiveConfiguration.Describe(options);
            if (parse.GetValue(context.JsonOutput))
            {
                context.WriteJson(lines.ToDictionary(l => l.Key, l => l.Value));
            }
            else
            {
                var width = lines.Max(l => l.Key.Length);
                foreach (var (key, value) in lines)
                {
                    context.Out.WriteLine($"{key.PadRight(width)}  {value}");
                }
            }

            return Task.FromResult(0);
        }));
        return command;
    }
}
