using Outbox.Storage;
using Outbox.Storage.Admin;

namespace Outbox.Dashboard;

/// <summary>The mails a filter matches, newest first, a page at a time; and the way to retry the failed ones among them.</summary>
public static class ListPage
{
    public const int PageSize = 50;

    private static readonly string[] Retryable = ["failed", "unconfirmed", "cancelled"];

    public static async Task<Markup> RenderAsync(OutboxDatabase database, ListFilter filter, DashboardRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(request);
        // One more than a page says whether there is a next one.
        var rows = await new OutboxAdmin(database).ListAsync(filter.Mail, PageSize + 1, cancellationToken).ConfigureAwait(false);
        var page = rows.Take(PageSize).ToList();
        var table = page.Count == 0
            ? Html.Of($"""<p id="empty">No mail matches.</p>""")
            : Html.Of($"""
                <table id="mails"><tr><th>id</th><th>status</th><th>created</th><th>to</th><th>from</th><th>subject</th><th>due (queued)</th><th>attempts</th><th>last error</th></tr>
                {Html.Join(page.Select(Row))}
                </table>
                """);
        var paging = Html.Join([
            filter.Mail.BeforeId is null ? Markup.Empty : Html.Of($"""<a id="first" href="/mails{filter.QueryString()}">Newest</a> """),
            rows.Count > PageSize ? Html.Of($"""<a id="older" href="/mails{filter.QueryString(page[^1].Id)}">Older</a>""") : Markup.Empty,
        ]);
        var retry = Markup.Empty;
        if (request.AllowActions && filter.Mail.Status is { } status && Retryable.Contains(status) && page.Count > 0)
        {
            // How many, not only the page's: the retry takes every mail the filter matches.
            var count = await new OutboxAdmin(database).CountAsync(filter.Mail, cancellationToken).ConfigureAwait(false);
            retry = Html.Of($"""<p><a id="retry-all" href="/mails/retry{filter.QueryString()}">Retry every {status} mail of this filter ({count})…</a></p>""");
        }

        return Layout.Page("Mails", request, Html.Of($"""
            {Form(filter)}
            {retry}
            {table}
            <p class="paging">{paging}</p>
            """));
    }

    private static Markup Row(MessageSummary m) => Html.Of($"""
        <tr><td><a href="/mails/{m.Id}">{m.Id}</a></td><td class="status-{m.Status}">{m.Status}</td><td>{m.CreatedAt}</td><td>{m.FirstRecipient}{(m.RecipientCount > 1 ? Html.Of($" +{m.RecipientCount - 1}") : Markup.Empty)}</td><td>{m.Sender}</td><td>{m.Subject}</td><td>{m.DueAt}</td><td class="n">{m.AttemptCount}</td><td>{m.LastError}</td></tr>
        """);

    private static Markup Form(ListFilter filter)
    {
        string Value(string key) => filter.Given.GetValueOrDefault(key) ?? string.Empty;
        var options = Html.Join(new[] { string.Empty }.Concat(ListFilter.Statuses).Select(s =>
            Html.Of($"""<option value="{s}"{(s == (filter.Mail.Status ?? string.Empty) ? new Markup(" selected") : Markup.Empty)}>{(s.Length == 0 ? "any" : s)}</option>""")));
        return Html.Of($"""
            <form class="filter" method="get" action="/mails">
            <label>status <select name="status">{options}</select></label>
            <label>recipient <input name="to" value="{Value("to")}" maxlength="998"></label>
            <label>subject <input name="subject" value="{Value("subject")}" maxlength="998"></label>
            <label>since <input name="since" value="{Value("since")}" placeholder="2026-12-01" size="12"></label>
            <label>until <input name="until" value="{Value("until")}" placeholder="2026-12-02" size="12"></label>
            <button type="submit" id="apply">Filter</button>
            </form>
            """);
    }
}
