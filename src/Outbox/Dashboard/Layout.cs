namespace Outbox.Dashboard;

/// <summary>The frame of every page: title, navigation, who is signed in and whether actions are on.</summary>
public static class Layout
{
    /// <param name="refreshSeconds">Reload the page this often (a meta refresh: no script); null: never.</param>
    public static Markup Page(string title, DashboardRequest request, Markup body, int? refreshSeconds = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var mode = request.AllowActions ? "actions on" : "read-only";
        return Html.Of($"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            {(refreshSeconds is { } every ? Html.Of($"""<meta http-equiv="refresh" content="{every}">""") : Markup.Empty)}
            <title>{title} · outbox</title>
            <link rel="stylesheet" href="/dashboard.css">
            </head>
            <body>
            <header>
            <nav><a href="/">Overview</a> <a href="/mails">Mails</a> <a href="/mails?status=failed">Failed</a> <a href="/checks">Checks</a></nav>
            <p class="who">{request.Actor} · {mode}</p>
            </header>
            {(request.Banner is { } banner ? Html.Of($"""<p class="banner">{banner}</p>""") : Markup.Empty)}
            <main>
            <h1>{title}</h1>
            {body}
            </main>
            </body>
            </html>
            """);
    }

    /// <summary>A form that POSTs to the dashboard with the CSRF token.</summary>
    public static Markup PostForm(DashboardRequest request, string action, string button, Markup? fields = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        return Html.Of($"""<form method="post" action="{action}">{fields}<input type="hidden" name="{request.CsrfField}" value="{request.CsrfToken}"><button type="submit">{button}</button></form>""");
    }

    public const string Css = """
        body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #222; }
        header { display: flex; justify-content: space-between; align-items: center; background: #234; color: #fff; padding: .5em 1em; }
        header a { color: #fff; margin-right: 1em; text-decoration: none; }
        .who { margin: 0; opacity: .8; }
        main { padding: 1em; }
        table { border-collapse: collapse; margin: .5em 0 1.5em; }
        th, td { border-bottom: 1px solid #ddd; padding: .25em .6em; text-align: left; vertical-align: top; }
        td.n { text-align: right; }
        .status-sent, .ok { color: #1a7f37; } .status-expired { color: #8a5a00; } .status-failed, .status-unconfirmed, .fail { color: #c62828; } .recovered { color: #777; }
        .refresh { color: #777; font-size: 90%; } .verdict { font-weight: bold; }
        .banner { margin: 0; background: #c62828; color: #fff; font-weight: bold; padding: .6em 1em; }
        .error { background: #fdecea; border: 1px solid #c62828; padding: .5em 1em; }
        .notice { background: #e8f5e9; border: 1px solid #1a7f37; padding: .5em 1em; }
        form.filter label { margin-right: .8em; }
        form { display: inline-block; margin: .3em .5em .3em 0; }
        pre { white-space: pre-wrap; word-break: break-all; }
        svg .sent { fill: #1a7f37; } svg .failed { fill: #c62828; } svg text { font-size: 10px; fill: #555; }
        """;
}
