using System.Text.RegularExpressions;
using Dapper;
using Outbox.Core.Dispatch;
using Outbox.Core.Validation;

namespace Outbox.Storage.Admin;

/// <summary>
/// Pausing and resuming sending (outbox_pause), for `outbox pause` / `outbox resume` and the
/// dashboard: all of it, or one profile's mail. Each scope keeps one row with who paused it and
/// when, and who resumed it and when; the workers read the rows not resumed.
/// </summary>
public sealed partial class PauseControl
{
    /// <summary>Longest reason kept with a pause (outbox_pause.reason).</summary>
    public const int MaxReasonChars = 500;

    private readonly OutboxDatabase _database;
    private readonly string _actor;

    /// <param name="database">The outbox.</param>
    /// <param name="actor">Who acts, as recorded in paused_by / resumed_by (at most 200 characters kept).</param>
    public PauseControl(OutboxDatabase database, string actor)
    {
        ArgumentNullException.ThrowIfNull(database);
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        _database = database;
        _actor = actor.Length <= 200 ? actor : actor[..200];
    }

    private Dialects.SqlDialect D => _database.Dialect;

    /// <summary>The scope of a profile name ("*" for null), refused naming the field (the CLI's option, the form's field) when it cannot be one.</summary>
    public static string ScopeOf(string? profile, string field)
    {
        if (profile is null)
        {
            return Pause.All;
        }

        if (!ProfileName().IsMatch(profile))
        {
            throw new MailValidationException(field, $"\"{Printable(profile)}\" is not a profile name",
                "Give the name of an entry of Outbox:Profiles (letters, digits, _ . -, at most 100), or \"default\"; leave it out to pause all sending");
        }

        return profile;
    }

    /// <summary>Pauses a scope; says so in one line, or that it was already paused (and by whom: that pause stands).</summary>
    public async Task<string> PauseAsync(string? profile, string? reason, CancellationToken cancellationToken)
    {
        var scope = ScopeOf(profile, "profile");
        CheckReason(reason, "reason");

        reason = string.IsNullOrWhiteSpace(reason) ? null : reason.Trim();
        var table = D.Table("outbox_pause");
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var values = new { Scope = scope, By = _actor, Reason = reason };
        // A scope paused before keeps its row: the new pause replaces the last one, and a pause
        // in force is left as it is (its author and time stay true).
        var changed = await connection.ExecuteAsync(new CommandDefinition(D.Sql(
            $"""
            update {table} set paused_by = @By, paused_at = {D.Now}, reason = @Reason, resumed_by = null, resumed_at = null
             where scope = @Scope and resumed_at is not null
            """), values, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (changed == 0)
        {
            var standing = await InForceAsync(connection, transaction, scope, cancellationToken).ConfigureAwait(false);
            if (standing is not null)
            {
                return $"{Of(scope)} was already paused: {standing}";
            }

            await connection.ExecuteAsync(new CommandDefinition(D.Sql(
                $"insert into {table} (scope, paused_by, paused_at, reason) values (@Scope, @By, {D.Now}, @Reason)"),
                values, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        var pause = await InForceAsync(connection, transaction, scope, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return $"{pause}; every worker stops sending its mail between mails within its poll interval";
    }

    /// <summary>Refuses a reason that is not one line of at most <see cref="MaxReasonChars"/> characters, naming the field.</summary>
    public static void CheckReason(string? reason, string field)
    {
        if (reason is not null && (reason.Length > MaxReasonChars || reason.Any(char.IsControl)))
        {
            throw new MailValidationException(field, $"is {reason.Length} characters{(reason.Any(char.IsControl) ? " with control characters (line breaks, tabs)" : string.Empty)}",
                $"Say why in one line of at most {MaxReasonChars} characters");
        }
    }

    /// <summary>
    /// Resumes one profile, or (null) everything paused; the lines say what was resumed, or that
    /// nothing was paused. Workers are woken where the database can (PostgreSQL's NOTIFY).
    /// </summary>
    public async Task<(int Resumed, IReadOnlyList<string> Lines)> ResumeAsync(string? profile, CancellationToken cancellationToken)
    {
        string? scope = profile is null ? null : ScopeOf(profile, "profile");
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var paused = (await connection.QueryAsync<Pause>(new CommandDefinition(
            PausesQuery(scope is null ? string.Empty : " and scope = @Scope"), new { Scope = scope }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false)).ToList();
        if (paused.Count == 0)
        {
            var inForce = await connection.QueryAsync<Pause>(new CommandDefinition(PausesQuery(), transaction: transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
            return (0, [scope is null
                ? "nothing is paused"
                : $"{Of(scope)} is not paused{string.Concat(inForce.Select(p => $"; {p}"))}"]);
        }

        await connection.ExecuteAsync(new CommandDefinition(D.Sql(
            $"""
            update {D.Table("outbox_pause")} set resumed_by = @By, resumed_at = {D.Now}
             where resumed_at is null{(scope is null ? string.Empty : " and scope = @Scope")}
            """), new { Scope = scope, By = _actor }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        if (D.WakeWorkersStatement is { } wake)
        {
            await connection.ExecuteAsync(new CommandDefinition(wake, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        return (paused.Count, paused.Select(p => $"resumed {Of(p.Scope)} (was {p})").ToList());
    }

    /// <summary>The pauses in force.</summary>
    public async Task<IReadOnlyList<Pause>> PausesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await _database.DataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return (await connection.QueryAsync<Pause>(new CommandDefinition(PausesQuery(), cancellationToken: cancellationToken)).ConfigureAwait(false)).ToList();
    }

    private string PausesQuery(string condition = "") => D.Sql(
        $"select scope, paused_by as PausedBy, {D.AsIsoText("paused_at")} as PausedAt, reason from {D.Table("outbox_pause")} where resumed_at is null{condition}");

    private async Task<Pause?> InForceAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, string scope, CancellationToken cancellationToken) =>
        await connection.QuerySingleOrDefaultAsync<Pause>(new CommandDefinition(
            PausesQuery(" and scope = @Scope"), new { Scope = scope }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);

    private static string Of(string scope) => scope == Pause.All ? "all sending" : $"profile \"{scope}\"";

    private static string Printable(string text) =>
        new(text.Take(60).Select(c => char.IsControl(c) ? '?' : c).ToArray());

    // The names outbox_mail accepts for a mail's profile (outbox_pause's check says the same).
    [GeneratedRegex("^[A-Za-z0-9_.-]{1,100}$")]
    private static partial Regex ProfileName();
}
