using Outbox.Core.Dispatch;
using Outbox.Storage;
using Outbox.Storage.Admin;

namespace Outbox.Dashboard;

/// <summary>
/// The overview's "Sending" and "Workers" sections: what is paused (with pause and resume forms
/// when Outbox:Dashboard:AllowActions is on), and every worker's row in outbox_worker with its
/// last pass, stale ones marked.
/// </summary>
public static class WorkersSection
{
    public static async Task<Markup> RenderAsync(OutboxDatabase database, DashboardRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var pauses = await new PauseControl(database, request.Actor).PausesAsync(cancellationToken).ConfigureAwait(false);
        var workers = await new OutboxAdmin(database).WorkersAsync(cancellationToken).ConfigureAwait(false);
        return Html.Of($"""
            <section id="sending"><h2>Sending</h2>{Pauses(pauses, request)}</section>
            <section id="workers"><h2>Workers</h2>{Workers(workers)}</section>
            """);
    }

    private static Markup Pauses(IReadOnlyList<Pause> pauses, DashboardRequest request)
    {
        var list = pauses.Count == 0
            ? Html.Of($"""<p class="ok">Not paused: every worker sends.</p>""")
            : Html.Join(pauses.Select(p => Html.Of($"""
                <div class="pause"><p class="fail">{p.ToString()}</p>{(request.AllowActions
                    ? Layout.PostForm(request, "/resume", p.IsAll ? "Resume all sending" : $"Resume profile {p.Scope}", Html.Of($"""<input type="hidden" name="profile" value="{(p.IsAll ? string.Empty : p.Scope)}">"""))
                    : Markup.Empty)}</div>
                """)));
        var form = request.AllowActions
            ? Layout.PostForm(request, "/pause", "Pause", Html.Of($"""
                <label>profile <input name="profile" maxlength="100" placeholder="empty: all sending"></label>
                <label>reason <input name="reason" maxlength="{PauseControl.MaxReasonChars}"></label>
                """))
            : Markup.Empty;
        return Html.Of($"""
            {list}
            {form}
            <p>A pause holds for every worker: each stops between mails within its poll interval and hands back what it holds, uncharged. It is recorded as yours ({request.Actor}).</p>
            """);
    }

    private static Markup Workers(IReadOnlyList<WorkerRow> workers)
    {
        if (workers.Count == 0)
        {
            return Html.Of($"<p>No worker has run a pass in the last day.</p>");
        }

        var rows = workers.Select(w => Html.Of($"""
            <tr class="worker {w.State}"><td>{w.Name}</td><td>{w.Host}</td><td class="n">{w.Pid}</td><td>{w.Version}</td>
            <td class="{(w.State == "running" ? "ok" : w.State == "stale" ? "fail" : string.Empty)}">{State(w)}</td>
            <td>{w.StartedAt}</td><td>{w.LastPassAt ?? "none yet"}</td><td>{w.LastResult}</td><td>{w.Paused ?? "no"}</td></tr>
            """));
        return Html.Of($"""
            <table><tr><th>worker</th><th>host</th><th>pid</th><th>version</th><th>state</th><th>started</th><th>last pass</th><th>last pass did</th><th>paused</th></tr>
            {Html.Join(rows)}
            </table>
            <p>A worker is stale when it has not been seen for two poll intervals and a minute: it died, hangs, or cannot reach the database. Rows not seen for a day are deleted by the next worker that starts.</p>
            """);
    }

    private static string State(WorkerRow worker) => worker.State switch
    {
        "stopped" => $"stopped at {worker.StoppedAt}",
        "stale" => $"stale: not seen since {worker.LastSeenAt}",
        _ => $"running, seen {worker.LastSeenAt}",
    };
}
