using System.Globalization;

namespace Outbox.Bench;

/// <summary>The figures collected so far, printed as one markdown table at the end.</summary>
public sealed class Report
{
    private readonly List<(string Scenario, string Case, string Median, string Runs, string Note)> _rows = [];

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    public void Add(string scenario, string @case, IReadOnlyList<double> runs, string unit, string note = "")
    {
        var median = Median(runs);
        _rows.Add((scenario, @case, $"{Format(median)} {unit}", string.Join(" / ", runs.Select(Format)), note));
        Console.WriteLine($"  {scenario} | {@case}: {Format(median)} {unit} {note}");
    }

    public void Print()
    {
        Console.WriteLine();
        Console.WriteLine("| scenario | case | median | runs | note |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var row in _rows)
        {
            Console.WriteLine($"| {row.Scenario} | {row.Case} | {row.Median} | {row.Runs} | {row.Note} |");
        }
    }

    public static string Format(double value) =>
        value >= 100 ? value.ToString("N0", CultureInfo.InvariantCulture) : value.ToString("0.##", CultureInfo.InvariantCulture);
}
