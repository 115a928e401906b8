using System.Globalization;
using Outbox.Configuration;
using Outbox.Core.Sending;
using Outbox.Core.Sending.Accounts;
using Outbox.Storage;
using Outbox.Storage.Admin;

namespace Outbox.Dashboard;

/// <summary>The queue at a glance: mails per status, the oldest waiting, what is paused, the workers, sent and failed per hour, the accounts.</summary>
public static class OverviewPage
{
    private static readonly string[] Statuses = ["draft", "queued", "sending", "sent", "failed", "unconfirmed", "cancelled", "expired"];

    /// <summary>How often the overview reloads itself.</summary>
    public const int RefreshSeconds = 30;

    public static async Task<Markup> RenderAsync(OutboxDatabase database, OutboxOptions options, DashboardRequest request, TimeProvider clock, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        var status = await new OutboxAdmin(database).StatusAsync(cancellationToken).ConfigureAwait(false);
        var activity = new OutboxActivity(database);
        var hourly = await activity.HourlyAsync(cancellationToken).ConfigureAwait(false);
        var sending = await WorkersSection.RenderAsync(database, request, cancellationToken).ConfigureAwait(false);
        var accounts = new List<Markup>();
        foreach (var (name, server, limits) in AccountsOf(options))
        {
            var state = await activity.AccountAsync(name, [.. limits?.EffectiveRateLimits() ?? []], cancellationToken).ConfigureAwait(false);
            accounts.Add(AccountRow(name, server, limits, state));
        }

        var counts = Html.Join(Statuses.Select(s => Html.Of(
            $"""<tr><td><a class="status-{s}" href="/mails?status={s}">{s}</a></td><td class="n">{status.Counts.GetValueOrDefault(s)}</td></tr>""")));
        var oldest = status.OldestQueuedSeconds is { } age
            ? Html.Of($"The oldest waiting mail has waited {TimeSpan.FromSeconds(Math.Round(age)).ToString("c", CultureInfo.InvariantCulture)}.")
            : status.NextDueAt is { } next
            ? Html.Of($"No mail is due now; the next queued mail is due at {next} (scheduled, or waiting to be tried again).")
            : Html.Of($"No mail is waiting.");
        var errors = status.RecentErrors.Count == 0
            ? Html.Of($"<p>None.</p>")
            : Html.Of($"""
                <table><tr><th>mail</th><th>status</th><th>last attempt</th><th>last error</th></tr>
                {Html.Join(status.RecentErrors.Select(e => Html.Of($"""<tr><td><a href="/mails/{e.Id}">{e.Id}</a></td><td class="status-{e.Status}">{e.Status}</td><td>{e.LastAttemptAt}</td><td>{e.LastError}</td></tr>""")))}
                </table>
                """);
        var accountTable = accounts.Count == 0
            ? Html.Of($"<p>No account: Outbox:Transport is {options.Transport}.</p>")
            : Html.Of($"""
                <table><tr><th>account</th><th>server</th><th>last sent (last day)</th><th>last error (last day)</th><th>rate limits in use</th></tr>
                {Html.Join(accounts)}
                </table>
                """);
        // A copy of the database sends nothing until adopted: first thing on the page.
        var identity = await DatabaseIdentity.ReadAsync(database, cancellationToken).ConfigureAwait(false);
        var copy = identity.Problem is { } problem ? Html.Of($"""<p class="error" id="copy">Not sending: {problem}. {identity.Remedy}</p>""") : Markup.Empty;
        var body = Html.Of($"""
            {copy}
            <section id="queue"><h2>Queue</h2>
            <table><tr><th>status</th><th>mails</th></tr>{counts}</table>
            <p id="oldest">{oldest}</p>
            <p class="refresh">This page reloads every {RefreshSeconds} s.</p></section>
            {sending}
            <section id="hourly"><h2>Sent and failed per hour (UTC, last day)</h2>{Chart(hourly, clock.GetUtcNow())}</section>
            <section id="accounts"><h2>Accounts</h2>{accountTable}</section>
            <section id="errors"><h2>Recent errors</h2>{errors}</section>
            """);
        return Layout.Page("Overview", request, body, RefreshSeconds);
    }

    // The accounts the worker sends through, by the names the attempt log records, with where
    // each sends to: an SMTP server's host and port, or Graph's mailbox and address (no secret),
    // and the account's settings its limits come from.
    private static IEnumerable<(string Name, string Server, SmtpOptions? Limits)> AccountsOf(OutboxOptions options)
    {
        switch (options.Transport.Trim().ToLowerInvariant())
        {
            case "graph":
                return [(SmtpTransport.DefaultAccount, GraphServer(options.Graph.Mailbox, options.Graph.BaseUrl), SmtpOptions.GraphAccount(options.Graph))];
            case "smtp":
                return options.Accounts.Count == 0
                    ? [(SmtpTransport.DefaultAccount, $"{options.Smtp.Host}:{options.Smtp.Port}", options.Smtp)]
                    : options.Accounts.Select(a => (a.Key, a.Value.UsesGraph() ? GraphServer(a.Value.Mailbox, a.Value.BaseUrl) : $"{a.Value.Host}:{a.Value.Port}", (SmtpOptions?)a.Value));
            default:
                return [];
        }
    }

    private static string GraphServer(string? mailbox, string baseUrl) => $"Microsoft Graph {baseUrl} as {mailbox}";

    private static Markup AccountRow(string name, string server, SmtpOptions? smtp, AccountActivity state)
    {
        var rateLimits = smtp?.EffectiveRateLimits() ?? [];
        var connections = smtp?.EffectiveMaxConnections() ?? 0;
        var limits = rateLimits.Count == 0 && connections == 0
            ? Html.Of($"none")
            : Html.Join(rateLimits.Select((limit, i) => Html.Of(
                $"<div>{state.SlotsInUse[i]} of {limit.Messages}{(limit.CountBy == RateCount.Recipients ? " recipients" : string.Empty)} per {limit.Per.ToString("c", CultureInfo.InvariantCulture)}</div>"))
                .Append(connections == 0 ? Html.Of($"") : Html.Of($"<div>{state.ConnectionsOpen} of {connections} connections open</div>")));
        // An account that sent after its last failure works again: its error is history, not an alarm.
        var error = state.LastError is null ? Html.Of($"""<span class="ok">none</span>""")
            : state.Recovered ? Html.Of($"""<span class="recovered">{state.LastErrorAt}: {state.LastError} (mail went out since)</span>""")
            : Html.Of($"""<span class="fail">{state.LastErrorAt}: {state.LastError}</span>""");
        var sent = state.LastSentAt is null ? Html.Of($"none") : Html.Of($"""<span class="ok">{state.LastSentAt}</span>""");
        return Html.Of($"""<tr class="account"><td>{name}</td><td>{server}</td><td class="last-sent">{sent}</td><td class="last-error">{error}</td><td>{limits}</td></tr>""");
    }

    // An inline SVG of 24 hourly bars (sent up, failed down), drawn on the server: no script, no
    // request beyond the page.
    private static Markup Chart(IReadOnlyList<HourlyCount> hourly, DateTimeOffset now)
    {
        const int BarWidth = 24, Height = 60;
        var byHour = hourly.ToDictionary(h => h.Hour, StringComparer.Ordinal);
        var hours = Enumerable.Range(0, 24).Select(i => now.UtcDateTime.AddHours(i - 23).ToString("yyyy-MM-dd'T'HH", CultureInfo.InvariantCulture)).ToList();
        var max = Math.Max(1, hourly.Count == 0 ? 1 : hourly.Max(h => Math.Max(h.Sent, h.Failed)));
        var bars = hours.Select((hour, i) =>
        {
            var counts = byHour.GetValueOrDefault(hour) ?? new HourlyCount { Hour = hour };
            var sent = (int)Math.Ceiling(counts.Sent * (double)Height / max);
            var failed = (int)Math.Ceiling(counts.Failed * (double)Height / max);
            var x = i * BarWidth;
            return Html.Of($"""
                <g><title>{hour}:00 UTC: {counts.Sent} sent, {counts.Failed} failed</title>
                <rect class="sent" x="{x + 2}" y="{Height - sent}" width="{BarWidth - 4}" height="{sent}"/>
                <rect class="failed" x="{x + 2}" y="{Height + 1}" width="{BarWidth - 4}" height="{failed}"/>
                {(i % 6 == 0 ? Html.Of($"""<text x="{x + 2}" y="{(2 * Height) + 14}">{hour[11..]}h</text>""") : Markup.Empty)}</g>
                """);
        });
        var totals = Html.Of($"{hourly.Sum(h => h.Sent)} sent, {hourly.Sum(h => h.Failed)} failed in the last day; the highest bar is {max}.");
        return Html.Of($"""
            <svg role="img" aria-label="sent and failed per hour" width="{24 * BarWidth}" height="{(2 * Height) + 20}" viewBox="0 0 {24 * BarWidth} {(2 * Height) + 20}">
            {Html.Join(bars)}
            </svg>
            <p id="totals">{totals}</p>
            """);
    }
}
