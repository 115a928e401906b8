using System.Globalization;

namespace Outbox.Dashboard;

/// <summary>The last `check smtp` and `check db` results, with buttons to run them again.</summary>
public static class ChecksPage
{
    public static Markup Render(DashboardChecks checks, DashboardRequest request, string? notice)
    {
        ArgumentNullException.ThrowIfNull(checks);
        var results = checks.Results;
        var shown = results.Count == 0
            ? Html.Of($"<p>No check has run since the dashboard started.</p>")
            : Html.Join(results.Select(r => Html.Of($"""
                <section class="check"><h2>{r.Name}: <span class="{(r.Ok ? "ok" : "fail")}">{(r.Ok ? "ok" : "FAIL")}</span></h2>
                <p>at {r.At.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)}</p>
                <table>{Html.Join(r.Steps.Select(s => Html.Of($"""<tr><td class="{(s.Ok ? "ok" : "fail")}">{(s.Ok ? "ok" : "FAIL")}</td><td>{s.Step}</td><td>{s.Detail}</td></tr>""")))}</table>
                <p class="verdict {(r.Ok ? "ok" : "fail")}">verdict: {r.Verdict}</p>
                </section>
                """)));
        var buttons = Html.Join([
            !checks.HasSmtp ? Html.Of($"<p>No SMTP server to check: Outbox:Transport is not smtp.</p>")
                : request.AllowActions ? Layout.PostForm(request, "/checks/smtp", "Run check smtp")
                : Html.Of($"<p>check smtp logs in to the SMTP server: it needs Outbox:Dashboard:AllowActions.</p>"),
            Layout.PostForm(request, "/checks/db", "Run check db"),
        ]);
        return Layout.Page("Checks", request, Html.Of($"""
            {(notice is null ? Markup.Empty : Html.Of($"""<p class="notice">{notice}</p>"""))}
            <p>{buttons}</p>
            {shown}
            """));
    }
}
