using System.Xml.Linq;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>`outbox --version` prints the release's version, written once in Directory.Build.props.</summary>
public sealed class VersionTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-version-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public async Task Version_option_prints_the_version_of_Directory_Build_props_and_nothing_else()
    {
        var (code, output, errors) = await WorkerProcess.RunToEndAsync(_dir.FullName, null, "--version");

        Assert.Equal(0, code);
        Assert.Equal($"{PropsVersion()}\n", output.ReplaceLineEndings("\n"));
        Assert.Equal("", errors);
    }

    private static string PropsVersion()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Outbox.sln")))
        {
            directory = directory.Parent;
        }

        var props = XDocument.Load(Path.Combine(directory?.FullName ?? throw new InvalidOperationException("the tests run outside the repository"), "Directory.Build.props"));
        var version = props.Descendants("Version").Single().Value;
        Assert.Matches(@"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$", version);
        return version;
    }
}
