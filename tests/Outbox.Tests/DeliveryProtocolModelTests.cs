using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// The Promela model of the delivery protocol (src/Outbox.Storage/DeliveryProtocol.pml) names the
/// store's statements, and Spin verifies it.
/// </summary>
public sealed partial class DeliveryProtocolModelTests
{
    private static readonly string Root = FindRoot();
    private static readonly string Model = File.ReadAllText(Path.Combine(Root, "src", "Outbox.Storage", "DeliveryProtocol.pml"));

    [Fact]
    public void The_model_and_the_store_name_the_same_statements()
    {
        // The statements of OutboxStore, and its group write of sent mails.
        var statements = typeof(OutboxStore).GetNestedType("Statements", BindingFlags.NonPublic)!
            .GetProperties(BindingFlags.Instance | BindingFlags.Public)
            .Select(p => p.Name)
            .Append(nameof(OutboxStore.MarkSentAsync).Replace("Async", string.Empty, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();
        var modelled = Listed("statements");
        var named = modelled.Concat(Listed("parts of the statements above (the attempt row and recipients of an outcome)")).Concat(Listed("reads, which change nothing"))
            .Order(StringComparer.Ordinal).ToList();
        var inlines = Inline().Matches(Model).Select(m => m.Groups[1].Value).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(statements, named);
        Assert.Equal(modelled.Order(StringComparer.Ordinal), inlines);
    }

    [Fact]
    public async Task Spin_verifies_the_model_and_finds_each_mutant_out()
    {
        if (!File.Exists("/usr/bin/spin") || !File.Exists("/usr/bin/gcc"))
        {
            const string reason = "Spin or gcc is missing: install the Debian packages spin and gcc to model-check the delivery protocol";
            Assert.False(PostgresServer.OnCi, reason);
            Assert.Skip(reason);
        }

        var start = new ProcessStartInfo(Path.Combine(Root, "build", "verify-model.sh")) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var verify = Process.Start(start)!;
        var output = verify.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = verify.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await verify.WaitForExitAsync(TestContext.Current.CancellationToken);

        Assert.True(verify.ExitCode == 0, await output + await error);
        var lines = (await output).Split('\n').Where(l => l.StartsWith("model:", StringComparison.Ordinal)).ToList();
        TestContext.Current.TestOutputHelper?.WriteLine(string.Join('\n', lines));
        Assert.Equal(4, lines.Count(l => l.Contains(" holds: ", StringComparison.Ordinal)));
        Assert.Equal(3, lines.Count(l => l.Contains("fails as it must", StringComparison.Ordinal)));
    }

    private static List<string> Listed(string heading) =>
        Model.Split('\n').Select(l => l.Trim().TrimStart('*').Trim())
            .Single(l => l.StartsWith(heading + ":", StringComparison.Ordinal))[(heading.Length + 1)..]
            .Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();

    [GeneratedRegex(@"^inline (\w+)\(", RegexOptions.Multiline)]
    private static partial Regex Inline();

    private static string FindRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Outbox.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("the repository root (Outbox.sln) was not found above the test binaries");
    }
}
