using Outbox.Commands;

namespace Outbox.Tests.Infrastructure;

/// <summary>Runs an `outbox` command in-process, as a user would type it.</summary>
public static class Cli
{
    /// <summary>The exit code, and what went to stdout and stderr together.</summary>
    public static async Task<(int Code, string Output)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await OutboxCli.RunAsync(args, output, error, TestContext.Current.CancellationToken);
        return (code, output + error.ToString());
    }

    /// <summary>The exit code, and stdout and stderr apart, as a script sees them.</summary>
    public static async Task<(int Code, string Out, string Error)> RunApartAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await OutboxCli.RunAsync(args, output, error, TestContext.Current.CancellationToken);
        return (code, output.ToString(), error.ToString());
    }
}
