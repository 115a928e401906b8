using Outbox.Commands;

return await OutboxCli.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
