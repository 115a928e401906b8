using System.CommandLine;

namespace Outbox.Commands;

/// <summary>The `outbox` command line.</summary>
public static class OutboxCli
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var context = new CliContext(output, error);
        var root = new RootCommand("Outbox: a transactional mail outbox for PostgreSQL, SQLite and Oracle, sent over authenticated TLS SMTP.")
        {
            context.Config,
            context.Verbose,
            InitCommand.Create(context),
            RunCommand.Create(context),
            SendCommand.Create(context),
            StatusCommand.Create(context),
            ListCommand.Create(context),
            ShowCommand.Create(context),
            MailActionCommand.Retry(context),
            MailActionCommand.Cancel(context),
            PurgeCommand.Create(context),
            CheckCommand.Create(context),
            ConfigCommand.Create(context),
        };
        var invocation = new InvocationConfiguration { Output = output, Error = error };
        return await root.Parse(args).InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
    }
}
