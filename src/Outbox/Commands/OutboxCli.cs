using System.CommandLine;

namespace Outbox.Commands;

/// <summary>The `outbox` command line.</summary>
public static class OutboxCli
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var context = new CliContext(output, error);
        var root = Root(context);
        var parse = root.Parse(args, ParserSettings);
        if (parse.Errors.Count > 0)
        {
            // One line each on stderr, and where to look; not the whole help on stdout.
            var messages = parse.Errors.Select(CliArguments.Describe).Distinct().ToList();
            // An unknown word is the one mistake in `outbox frobnicate`; that no command was
            // given follows from it and would only repeat it.
            if (messages.Count > 1)
            {
                messages.Remove("Required command was not provided.");
            }

            foreach (var message in messages)
            {
                await error.WriteLineAsync($"outbox: {message}").ConfigureAwait(false);
            }

            if (context.WantsJson(parse))
            {
                context.WriteJsonError(ExitCodes.Usage, messages);
            }

            var path = new List<string> { "outbox" };
            for (var result = parse.CommandResult; result.Command != root && result.Parent is System.CommandLine.Parsing.CommandResult parent; result = parent)
            {
                path.Insert(1, result.Command.Name);
            }

            await error.WriteLineAsync($"outbox: see `{string.Join(' ', path)} --help`").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        // On SIGTERM / Ctrl+C the command's token is cancelled and the command ends on its own
        // (the worker records what was sent and hands back the rest); only past this bound is
        // the process ended with 143 / 130. The default, 2 s, cut stopping workers short.
        var invocation = new InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = Core.Dispatch.DispatchOptions.MaxStopTime };
        return await parse.InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What the `outbox` command line accepts, for parsing without running (a test checks the documented command lines against it).</summary>
    public static ParseResult Parse(IReadOnlyList<string> args) =>
        Root(new CliContext(TextWriter.Null, TextWriter.Null)).Parse(args, ParserSettings);

    // "@example.com" is a value here (list --to @example.com), not a response file to read.
    private static readonly ParserConfiguration ParserSettings = new() { ResponseFileTokenReplacer = null };

    private static RootCommand Root(CliContext context) => new("Outbox: a transactional mail outbox for PostgreSQL, SQLite and Oracle, sent over authenticated TLS SMTP.")
        {
            context.Config,
            context.Verbose,
            InitCommand.Create(context),
            RunCommand.Create(context),
            SendCommand.Create(context),
            TemplateCommand.Create(context),
            StatusCommand.Create(context),
            ListCommand.Create(context),
            ShowCommand.Create(context),
            MailActionCommand.Retry(context),
            MailActionCommand.Cancel(context),
            PauseCommand.Pause(context),
            PauseCommand.Resume(context),
            PurgeCommand.Create(context),
            AdoptCommand.Create(context),
            CheckCommand.Create(context),
            ConfigCommand.Create(context),
            DashboardCommand.Create(context),
        };
}
