using System.Globalization;

namespace Outbox.Bench;

/// <summary>Where the benchmark's servers are and how much to run.</summary>
public sealed record BenchOptions(string Postgres, string SinkHost, int SinkPort, string Work, bool Quick, string? Only)
{
    /// <summary>Whether a scenario runs: all of them, or only the one named by --only.</summary>
    public bool Includes(string scenario) => Only is null || Only == scenario;

    public int Runs => Quick ? 2 : 3;

    public static BenchOptions Parse(string[] args)
    {
        string Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault()
            ?? throw new ArgumentException($"{name} is required (bench/run.sh passes it)");
        var sink = Value("--sink").Split(':');
        var only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault();
        return new BenchOptions(Value("--postgres"), sink[0], int.Parse(sink[1], CultureInfo.InvariantCulture), Value("--work"), args.Contains("--quick"), only);
    }
}
