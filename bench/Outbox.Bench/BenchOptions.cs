using System.Globalization;

namespace Outbox.Bench;

/// <summary>Where the benchmark's servers are and how much to run.</summary>
public sealed record BenchOptions(string Postgres, string SinkHost, int SinkPort, string Work, bool Quick, string? Only, string? Case)
{
    /// <summary>Whether a scenario runs: all of them, or only the one named by --only.</summary>
    public bool Includes(string scenario) => Only is null || Only == scenario;

    /// <summary>Whether a case of a scenario runs: all of them, or only the one named by --case (e.g. "1 KB, 8 conn").</summary>
    public bool IncludesCase(string @case) => Case is null || Case == @case;

    public int Runs => Quick ? 2 : 3;

    public static BenchOptions Parse(string[] args)
    {
        string Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault()
            ?? throw new ArgumentException($"{name} is required (bench/run.sh passes it)");
        var sink = Value("--sink").Split(':');
        string? Optional(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        return new BenchOptions(Value("--postgres"), sink[0], int.Parse(sink[1], CultureInfo.InvariantCulture), Value("--work"), args.Contains("--quick"), Optional("--only"), Optional("--case"));
    }
}
