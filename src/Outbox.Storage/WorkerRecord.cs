using System.Reflection;
using Dapper;

namespace Outbox.Storage;

/// <summary>
/// This worker's row in outbox_worker, for `outbox status` and the dashboard's list of workers:
/// written after a pass at most once per poll interval (sooner only when what it sees changed:
/// a pause, a failing pass), never per mail, and marked stopped on a clean stop. The first write
/// deletes the rows not seen for a day, so crashed workers' rows age out.
/// </summary>
public sealed class WorkerRecord
{
    /// <summary>How long the row of a worker that is not seen any more stays.</summary>
    public static readonly TimeSpan KeptFor = TimeSpan.FromDays(1);

    private readonly OutboxDatabase _database;
    private readonly string _name;
    private readonly TimeSpan _interval;
    private readonly TimeProvider _time;
    private long _writtenAt = long.MinValue;
    private (string? Paused, bool Failed)? _written;

    public WorkerRecord(OutboxDatabase database, string name, TimeSpan pollInterval, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
        _name = Capped(name, 200);
        _interval = pollInterval;
        _time = time;
    }

    /// <summary>The product's version, as `outbox --version` prints it.</summary>
    public static string Version { get; } =
        typeof(WorkerRecord).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";

    /// <summary>Records a pass: what it did or why it failed (one line), and the pauses it saw.</summary>
    public async Task PassAsync(string result, string? paused, bool failed, CancellationToken cancellationToken)
    {
        if (_written == (paused, failed) && _time.GetElapsedTime(_writtenAt) < _interval)
        {
            return;
        }

        var d = _database.Dialect;
        var row = new
        {
            Name = _name,
            Host = Capped(Environment.MachineName, 200),
            Pid = Environment.ProcessId,
            Version = Capped(Version, 100),
            PollSeconds = (int)Math.Min(int.MaxValue, Math.Ceiling(_interval.TotalSeconds)),
            Result = Capped(result, 1000),
            Paused = paused is null ? null : Capped(paused, 1000),
            AgeSeconds = -KeptFor.TotalSeconds,
        };
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var updated = await connection.ExecuteAsync(new CommandDefinition(d.Sql(
            $"""
            update {d.Table("outbox_worker")}
               set last_seen_at = {d.Now}, last_pass_at = {d.Now}, last_result = @Result, paused = @Paused, stopped_at = null
             where name = @Name and host = @Host and pid = @Pid
            """), row, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (updated == 0)
        {
            // This process's first pass (or its row was deleted by hand): a new row, started now;
            // the row of an earlier process of the same name, and rows long unseen, go.
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await connection.ExecuteAsync(new CommandDefinition(d.Sql(
                $"delete from {d.Table("outbox_worker")} where name = @Name or last_seen_at < {d.NowPlusSeconds("@AgeSeconds")}"),
                row, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            await connection.ExecuteAsync(new CommandDefinition(d.Sql(
                $"""
                insert into {d.Table("outbox_worker")} (name, host, pid, version, poll_seconds, started_at, last_seen_at, last_pass_at, last_result, paused)
                values (@Name, @Host, @Pid, @Version, @PollSeconds, {d.Now}, {d.Now}, {d.Now}, @Result, @Paused)
                """), row, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        _written = (paused, failed);
        _writtenAt = _time.GetTimestamp();
    }

    /// <summary>Marks the row stopped (a clean stop); the row stays, for a day, to say when.</summary>
    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        var d = _database.Dialect;
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await connection.ExecuteAsync(new CommandDefinition(d.Sql(
            $"update {d.Table("outbox_worker")} set stopped_at = {d.Now}, last_seen_at = {d.Now} where name = @Name and pid = @Pid"),
            new { Name = _name, Pid = Environment.ProcessId }, cancellationToken: cancellationToken)).ConfigureAwait(false);
    }

    private static string Capped(string text, int length) => text.Length <= length ? text : text[..length];
}
