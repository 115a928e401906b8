using System.Globalization;

namespace Outbox.Bench;

/// <summary>
/// CPU time spent by this process, by PostgreSQL (every postgres process, with the backends that
/// already exited counted through the postmaster) and by smtp-sink, read from /proc: what each
/// mail costs the shared cores, whichever of them ends up the bottleneck.
/// </summary>
public sealed class CpuMeter
{
    private static readonly double TicksPerSecond = 100; // USER_HZ, 100 on every Linux kernel build

    private readonly TimeSpan _self;
    private readonly double _postgres;
    private readonly double _sink;

    private CpuMeter(TimeSpan self, double postgres, double sink) => (_self, _postgres, _sink) = (self, postgres, sink);

    public static CpuMeter Start() => new(System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime, Seconds("postgres"), Seconds("smtp-sink"));

    /// <summary>Microseconds of CPU per mail since Start: this process, PostgreSQL, smtp-sink.</summary>
    public (double Self, double Postgres, double Sink) PerMail(int mails)
    {
        var self = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - _self).TotalSeconds;
        return (self * 1e6 / mails, (Seconds("postgres") - _postgres) * 1e6 / mails, (Seconds("smtp-sink") - _sink) * 1e6 / mails);
    }

    // utime + stime + cutime + cstime of every process with this command name.
    private static double Seconds(string command)
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }

        long ticks = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (IOException)
            {
                continue;
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            var open = stat.IndexOf('(', StringComparison.Ordinal);
            var close = stat.LastIndexOf(')');
            if (open < 0 || close < 0 || stat[(open + 1)..close] != command)
            {
                continue;
            }

            // Fields after the command: state is field 3; utime..cstime are fields 14..17.
            var fields = stat[(close + 2)..].Split(' ');
            ticks += Enumerable.Range(11, 4).Sum(i => long.Parse(fields[i], CultureInfo.InvariantCulture));
        }

        return ticks / TicksPerSecond;
    }
}
