using System.Diagnostics;

namespace Outbox.Tests;

/// <summary>Both shipped systemd units are hardened: systemd's own rating is OK or better, and files the worker writes are not world-readable.</summary>
public sealed class ServiceUnitTests
{
    [Theory]
    [InlineData("config/outbox.service")]
    [InlineData("packaging/deb/outbox.service")]
    public async Task The_unit_rates_OK_or_better_in_systemd_analyze_security_with_umask_0027(string unit)
    {
        var path = Path.Combine(RepositoryRoot(), unit);
        Assert.Contains("\nUMask=0027\n", await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken), StringComparison.Ordinal);
        if (!File.Exists("/usr/bin/systemd-analyze"))
        {
            Assert.Skip("systemd-analyze is not installed (apt-get install systemd)");
        }

        using var analyze = Process.Start(new ProcessStartInfo("/usr/bin/systemd-analyze", ["security", "--offline=true", "--no-pager", path])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        })!;
        var output = await analyze.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken) + await analyze.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await analyze.WaitForExitAsync(TestContext.Current.CancellationToken);

        var overall = output.Split('\n').Single(l => l.Contains("Overall exposure level", StringComparison.Ordinal));
        Assert.True(new[] { " OK", " SAFE", " PERFECT" }.Any(w => overall.Contains(w, StringComparison.Ordinal)), overall);
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Outbox.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Outbox.sln not found above the test's directory");
    }
}
