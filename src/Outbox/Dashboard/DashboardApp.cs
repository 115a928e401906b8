using System.Net;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Outbox.Configuration;
using Outbox.Core.Messages;
using Outbox.Core.Secrets;
using Outbox.Core.Validation;
using Outbox.Storage;
using Outbox.Storage.Admin;
using Outbox.Worker;

namespace Outbox.Dashboard;

/// <summary>
/// The web dashboard: Kestrel on Outbox:Dashboard:Url, server-rendered pages with no script,
/// reading through the same store as the CLI. Every request passes the login (HTTP Basic when
/// one is configured; loopback only otherwise), every change is a POST with a CSRF token and
/// needs Outbox:Dashboard:AllowActions, and every page leaves with the configured secrets removed.
/// </summary>
public sealed partial class DashboardApp : IAsyncDisposable
{
    private const string ActorKey = "outbox.actor";
    private const string ReadOnly = "This dashboard is read-only: set Outbox:Dashboard:AllowActions to true to retry, cancel, pause, resume and run check smtp from it.";

    /// <summary>Downloads handed out at once, each from a temporary file of at most MaxDownloadBytes.</summary>
    public const int Downloads = 4;

    // How long a client refused for being one too many is asked to wait.
    private const int BusySeconds = 2;
    private readonly WebApplication _app;
    private readonly DashboardBinding _binding;

    private DashboardApp(WebApplication app, DashboardBinding binding)
    {
        _app = app;
        _binding = binding;
    }

    public static DashboardApp Create(OutboxOptions options, OutboxDatabase database, DashboardBinding binding)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(binding);
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { ApplicationName = "outbox", ContentRootPath = AppContext.BaseDirectory });
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // The largest form is a filter of a few short fields.
            kestrel.Limits.MaxRequestBodySize = 64 * 1024;
            kestrel.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            if (binding.Address is null)
            {
                kestrel.ListenLocalhost(binding.Port);
            }
            else
            {
                kestrel.Listen(binding.Address, binding.Port);
            }
        });
        builder.Logging.AddPrintableConsole();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // A form without its CSRF cookie is the caller's problem, answered with 400, not the operator's.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Antiforgery", LogLevel.Error);
        // It warns that keys are kept unencrypted: they are, in this process's memory only.
        builder.Logging.AddFilter("Microsoft.AspNetCore.DataProtection", LogLevel.Error);
        // A start that fails is reported once, in one line, as the command's error.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);
        builder.Services.AddRouting();
        builder.Services.AddAntiforgery(antiforgery =>
        {
            antiforgery.Cookie.Name = "outbox-csrf";
            antiforgery.FormFieldName = "csrf";
            antiforgery.SuppressXFrameOptionsHeader = true;
        });
        builder.Services.Configure<KeyManagementOptions>(keys => keys.XmlRepository = new MemoryKeyRepository());
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(new DashboardChecks(options, database, TimeProvider.System));
        var app = builder.Build();
        new Endpoints(options, database, binding, DashboardSecrets.Of(options), app.Services,
            new RequestSlots(options.Dashboard.DatabaseConnections), new RequestSlots(Downloads)).Map(app);
        return new DashboardApp(app, binding);
    }

    /// <summary>Starts listening; a port that is taken fails the start with one line naming the key.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw new ConfigurationException($"Outbox:Dashboard:Url: cannot listen on {_binding.Url} ({ex.InnerException?.Message ?? ex.Message}). Choose a free port, or stop what listens there", ex);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => _app.StopAsync(cancellationToken);

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    // databaseSlots: requests that use the database at once, no more than the dashboard's pool holds,
    // so none waits for a connection; downloads: .eml files being handed out at once.
    private sealed class Endpoints(OutboxOptions options, OutboxDatabase database, DashboardBinding binding, SecretScrubber secrets, IServiceProvider services,
        RequestSlots databaseSlots, RequestSlots downloads)
    {
        private readonly IAntiforgery _antiforgery = services.GetRequiredService<IAntiforgery>();
        private readonly DashboardChecks _checks = services.GetRequiredService<DashboardChecks>();
        private readonly TimeProvider _clock = services.GetRequiredService<TimeProvider>();
        private readonly ILogger _logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Outbox.Dashboard");
        private readonly LoginThrottle _throttle = new(services.GetRequiredService<TimeProvider>());
        private readonly HashSet<string> _loopbackHosts = new(StringComparer.OrdinalIgnoreCase)
        {
            $"localhost:{binding.Port}", $"127.0.0.1:{binding.Port}", $"[::1]:{binding.Port}",
            binding.Address is null ? $"localhost:{binding.Port}" : $"{(binding.Address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{binding.Address}]" : binding.Address)}:{binding.Port}",
        };

        public void Map(WebApplication app)
        {
            app.Use(GuardAsync);
            app.MapGet("/dashboard.css", context =>
            {
                context.Response.ContentType = "text/css; charset=utf-8";
                return context.Response.WriteAsync(Layout.Css, context.RequestAborted);
            });
            app.MapGet("/", Page((context, request) => OverviewPage.RenderAsync(database, options, request, _clock, context.RequestAborted)));
            app.MapGet("/mails", Page((context, request) => ListPage.RenderAsync(database, ListFilter.From(context.Request.Query), request, context.RequestAborted)));
            app.MapGet("/mails/{id:long}", Page(async (context, request) =>
                MailPage.Render(await new OutboxAdmin(database).ShowAsync(IdOf(context), context.RequestAborted).ConfigureAwait(false) ?? throw NoMail(context), request)));
            app.MapGet("/mails/{id:long}/eml", WriteEmlAsync);
            app.MapGet("/mails/{id:long}/retry", Page((context, request) => Confirm(context, request, "retry")));
            app.MapGet("/mails/{id:long}/cancel", Page((context, request) => Confirm(context, request, "cancel")));
            app.MapPost("/mails/{id:long}/retry", Post(isAction: true, async (context, request) =>
            {
                await new OutboxAdmin(database, request.Actor).RetryAsync(IdOf(context), context.RequestAborted).ConfigureAwait(false);
                return $"/mails/{IdOf(context)}";
            }));
            app.MapPost("/mails/{id:long}/cancel", Post(isAction: true, async (context, request) =>
            {
                await new OutboxAdmin(database, request.Actor).CancelAsync(IdOf(context), context.RequestAborted).ConfigureAwait(false);
                return $"/mails/{IdOf(context)}";
            }));
            app.MapGet("/mails/retry", Page((context, request) => ConfirmRetryAllAsync(ListFilter.From(context.Request.Query), request, context.RequestAborted)));
            app.MapPost("/mails/retry", Post(isAction: true, async (context, request) =>
            {
                var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
                var filter = ListFilter.From(key => form.TryGetValue(key, out var v) ? v.ToString() : null);
                var done = await new OutboxAdmin(database, request.Actor).RetryMatchingAsync(filter.Mail, 1000, null, context.RequestAborted).ConfigureAwait(false);
                return $"/mails{(filter with { Given = new Dictionary<string, string>(filter.Given) { ["status"] = "queued" } }).QueryString()}&retried={done.Queued}";
            }));
            // Pause and resume: actions, recorded as the dashboard user's; the overview shows them.
            app.MapPost("/pause", Post(isAction: true, async (context, request) =>
            {
                var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
                await new PauseControl(database, request.Actor).PauseAsync(Field(form, "profile"), Field(form, "reason"), context.RequestAborted).ConfigureAwait(false);
                return "/#sending";
            }));
            app.MapPost("/resume", Post(isAction: true, async (context, request) =>
            {
                var form = await context.Request.ReadFormAsync(context.RequestAborted).ConfigureAwait(false);
                await new PauseControl(database, request.Actor).ResumeAsync(Field(form, "profile"), context.RequestAborted).ConfigureAwait(false);
                return "/#sending";
            }));
            app.MapGet("/checks", Page((context, request) => Task.FromResult(ChecksPage.Render(_checks, request,
                context.Request.Query["busy"] == "1" ? "Another check is still running; its result shows here when it is done." : null))));
            // check smtp makes the worker log in to every account: an action, as a retry is.
            app.MapPost("/checks/smtp", Post(isAction: true, async (context, _) =>
                await _checks.RunAsync("smtp", context.RequestAborted).ConfigureAwait(false) ? "/checks" : "/checks?busy=1", usesDatabase: false));
            app.MapPost("/checks/db", Post(isAction: false, async (context, _) =>
                await _checks.RunAsync("db", context.RequestAborted).ConfigureAwait(false) ? "/checks" : "/checks?busy=1"));
        }

        // A form field, null when empty (an empty profile means all sending).
        private static string? Field(IFormCollection form, string name) =>
            form.TryGetValue(name, out var value) && !string.IsNullOrWhiteSpace(value.ToString()) ? value.ToString().Trim() : null;

        // Before anything else: the security headers, then who may come in.
        private async Task GuardAsync(HttpContext context, RequestDelegate next)
        {
            var headers = context.Response.Headers;
            headers.ContentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
            headers.XContentTypeOptions = "nosniff";
            headers["Referrer-Policy"] = "no-referrer";
            headers.CacheControl = "no-cache, no-store";
            headers.Pragma = "no-cache";
            if (binding.Login is { } login)
            {
                var client = LoginThrottle.ClientOf(context.Connection.RemoteIpAddress);
                if (_throttle.IsPaused(client))
                {
                    context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                    headers.RetryAfter = ((int)LoginThrottle.Pause.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    await context.Response.WriteAsync($"429: too many wrong logins from {client}; try again in a minute\n", context.RequestAborted).ConfigureAwait(false);
                    return;
                }

                if (!login.Accepts(context.Request.Headers.Authorization))
                {
                    // A browser's first request carries no login: only a wrong one counts.
                    if (!string.IsNullOrEmpty(context.Request.Headers.Authorization))
                    {
                        LogFailedLogin(_logger, client, _throttle.Fail(client));
                    }

                    context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    headers.WWWAuthenticate = "Basic realm=\"outbox\", charset=\"UTF-8\"";
                    await context.Response.WriteAsync("401: this dashboard asks for its login (Outbox:Dashboard:UserName)\n", context.RequestAborted).ConfigureAwait(false);
                    return;
                }

                _throttle.Succeed(client);
                context.Items[ActorKey] = $"{login.UserName} (dashboard)";
            }
            else
            {
                // Without a login only this host may come in, and only by a loopback name: a web
                // page elsewhere whose name resolves to 127.0.0.1 (DNS rebinding) is turned away.
                if (context.Connection.RemoteIpAddress is not { } remote || !IPAddress.IsLoopback(remote) || !_loopbackHosts.Contains(context.Request.Host.Value ?? string.Empty))
                {
                    context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                    await context.Response.WriteAsync("401: without Outbox:Dashboard:UserName the dashboard answers only on this host's loopback address\n", context.RequestAborted).ConfigureAwait(false);
                    return;
                }

                // Nobody logged in, so nobody can be named: not the OS user the service runs as, who
                // did not act. The client's address is what is known of whoever did.
                context.Items[ActorKey] = $"dashboard (loopback, no login) from {(remote.IsIPv4MappedToIPv6 ? remote.MapToIPv4() : remote)}";
            }

            try
            {
                await next(context).ConfigureAwait(false);
            }
            catch (Exception ex) when (!context.Response.HasStarted && ex is not OperationCanceledException)
            {
                // One line for the operator, no stack trace for the browser.
                LogFailure(_logger, context.Request.Path.Value ?? string.Empty, ex.GetType().Name, PrintableTextOf(ex.Message));
                context.Response.Clear();
                await ErrorAsync(context, StatusCodes.Status500InternalServerError, "Error", "The dashboard could not answer this; the worker's log has the reason.").ConfigureAwait(false);
            }
        }

        private static string PrintableTextOf(string text) => Core.Text.PrintableText.Escape(text);

        private DashboardRequest RequestOf(HttpContext context)
        {
            var tokens = _antiforgery.GetAndStoreTokens(context);
            return new DashboardRequest((string)context.Items[ActorKey]!, options.Dashboard.AllowActions, tokens.FormFieldName, tokens.RequestToken ?? string.Empty,
                options.Safety.Describe() is { } safety ? $"Not sent as addressed: {safety}" : null);
        }

        private RequestDelegate Page(Func<HttpContext, DashboardRequest, Task<Markup>> render) => async context =>
        {
            var request = RequestOf(context);
            Markup page;
            try
            {
                // Held while the page is read, not while it is written to a slow client.
                using var slot = databaseSlots.TryTake();
                if (slot is null)
                {
                    await BusyAsync(context, "requests that read the database", "Outbox:Dashboard:DatabaseConnections", databaseSlots.Count).ConfigureAwait(false);
                    return;
                }

                page = await render(context, request).ConfigureAwait(false);
            }
            catch (Exception ex) when (Problem(ex) is { } problem)
            {
                context.Response.StatusCode = problem.Status;
                page = Layout.Page(problem.Title, request, Html.Of($"""<p class="error">{problem.Message}</p>"""));
            }

            await WriteAsync(context, page).ConfigureAwait(false);
        };

        // A change: refused without actions (403) or without the form's CSRF token (400); done, it
        // sends the browser on to the page to look at (303, so a reload does not post again).
        private RequestDelegate Post(bool isAction, Func<HttpContext, DashboardRequest, Task<string>> act, bool usesDatabase = true) => async context =>
        {
            var request = new DashboardRequest((string)context.Items[ActorKey]!, options.Dashboard.AllowActions, string.Empty, string.Empty);
            if (isAction && !options.Dashboard.AllowActions)
            {
                await ErrorAsync(context, StatusCodes.Status403Forbidden, "Read-only", ReadOnly).ConfigureAwait(false);
                return;
            }

            if (!await _antiforgery.IsRequestValidAsync(context).ConfigureAwait(false))
            {
                await ErrorAsync(context, StatusCodes.Status400BadRequest, "Form expired", "The form's CSRF token is missing or does not match: go back, reload the page and try again.").ConfigureAwait(false);
                return;
            }

            try
            {
                using var slot = usesDatabase ? databaseSlots.TryTake() : null;
                if (usesDatabase && slot is null)
                {
                    await BusyAsync(context, "requests that use the database", "Outbox:Dashboard:DatabaseConnections", databaseSlots.Count).ConfigureAwait(false);
                    return;
                }

                context.Response.Redirect(await act(context, request).ConfigureAwait(false));
                context.Response.StatusCode = StatusCodes.Status303SeeOther;
            }
            catch (Exception ex) when (Problem(ex) is { } problem)
            {
                await ErrorAsync(context, problem.Status, problem.Title, problem.Message).ConfigureAwait(false);
            }
        };

        // Refused at once, with when to ask again: waiting would hold the client and grow a queue.
        private Task BusyAsync(HttpContext context, string what, string key, int count)
        {
            context.Response.Headers.RetryAfter = BusySeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return ErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "Busy",
                $"The dashboard is answering {count} {what} already ({key}); try again in a few seconds.");
        }

        private Task ErrorAsync(HttpContext context, int status, string title, string message)
        {
            context.Response.StatusCode = status;
            return WriteAsync(context, Layout.Page(title, RequestOf(context), Html.Of($"""<p class="error">{message}</p>""")));
        }

        private Task WriteAsync(HttpContext context, Markup page)
        {
            context.Response.ContentType = "text/html; charset=utf-8";
            return context.Response.WriteAsync(secrets.Scrub(page.Html) ?? string.Empty, context.RequestAborted);
        }

        private static (int Status, string Title, string Message)? Problem(Exception exception) => exception switch
        {
            ReadOnlyException readOnly => (StatusCodes.Status403Forbidden, "Read-only", readOnly.Message),
            NotFoundException notFound => (StatusCodes.Status404NotFound, "Not found", notFound.Message),
            MailValidationException invalid => (StatusCodes.Status400BadRequest, "Not done", invalid.Message),
            System.Data.Common.DbException db => (StatusCodes.Status503ServiceUnavailable, "Database error", $"database error: {db.Message} (check Outbox:Database:ConnectionString, and that the dashboard's database user may do this)"),
            _ => null,
        };

        private static Task<Markup> Confirm(HttpContext context, DashboardRequest request, string verb)
        {
            if (!request.AllowActions)
            {
                throw new ReadOnlyException();
            }

            var id = IdOf(context);
            return Task.FromResult(Layout.Page($"{(verb == "retry" ? "Retry" : "Cancel")} mail {id}?", request, Html.Of($"""
                <p>{(verb == "retry" ? "The mail is queued to be sent now, with a fresh count of attempts; recipients that rejected it are asked again." : "The mail will not be sent.")} The action is recorded in its attempt log as yours ({request.Actor}).</p>
                {Layout.PostForm(request, $"/mails/{id}/{verb}", verb == "retry" ? "Yes, retry it" : "Yes, cancel it")}
                <a href="/mails/{id}">No, back to the mail</a>
                """)));
        }

        private async Task<Markup> ConfirmRetryAllAsync(ListFilter filter, DashboardRequest request, CancellationToken cancellationToken)
        {
            if (!request.AllowActions)
            {
                throw new ReadOnlyException();
            }

            if (filter.Mail.Status is not ("failed" or "unconfirmed" or "cancelled"))
            {
                throw new MailValidationException("status", "must be failed, unconfirmed or cancelled to retry every mail of a filter", "Filter the list by one of those first");
            }

            // The count now; the retry takes the mails that match when it runs, and says how many it queued.
            var count = await new OutboxAdmin(database).CountAsync(filter.Mail, cancellationToken).ConfigureAwait(false);
            var fields = Html.Join(filter.Given.Select(g => Html.Of($"""<input type="hidden" name="{g.Key}" value="{g.Value}">""")));
            var criteria = Html.Join(filter.Given.Select(g => Html.Of($"<li>{g.Key}: {g.Value}</li>")));
            return Layout.Page($"Retry every {filter.Mail.Status} mail of this filter?", request, Html.Of($"""
                <ul>{criteria}</ul>
                <p id="count">{count} {(count == 1 ? "mail matches" : "mails match")} now.</p>
                <p>Each matching mail is queued to be sent now, with a fresh count of attempts, and the action is recorded in its attempt log as yours ({request.Actor}).</p>
                {Layout.PostForm(request, "/mails/retry", count == 1 ? "Yes, retry it" : $"Yes, retry these {count}", fields)}
                <a href="/mails{filter.QueryString()}">No, back to the list</a>
                """));
        }

        // Built by the worker's own code, as `outbox show --eml` does; attachments are in it, so
        // it is only ever a download. It is written to a temporary file while a database slot is
        // held, and handed out from the file after: a client that reads slowly holds a download
        // slot and that file, never a database connection (Kestrel cuts one slower than 240 bytes/s).
        private async Task WriteEmlAsync(HttpContext context)
        {
            var id = IdOf(context);
            using var download = downloads.TryTake();
            if (download is null)
            {
                await BusyAsync(context, ".eml downloads", $"at most {Downloads} at once", downloads.Count).ConfigureAwait(false);
                return;
            }

            FileStream? eml;
            using (var slot = databaseSlots.TryTake())
            {
                if (slot is null)
                {
                    await BusyAsync(context, "requests that read the database", "Outbox:Dashboard:DatabaseConnections", databaseSlots.Count).ConfigureAwait(false);
                    return;
                }

                try
                {
                    eml = await EmlSpool.WriteAsync(database, id, options.Dashboard.MaxDownloadBytes, context.RequestAborted).ConfigureAwait(false);
                }
                catch (EmlSpool.TooLargeException tooLarge)
                {
                    await ErrorAsync(context, StatusCodes.Status403Forbidden, "Too large to download",
                        $"The .eml of mail {id} is larger than Outbox:Dashboard:MaxDownloadBytes ({tooLarge.MaxBytes} bytes): raise it, or run outbox show {id} --eml > mail-{id}.eml on the host.").ConfigureAwait(false);
                    return;
                }
                catch (Exception ex) when (Problem(ex) is { } problem)
                {
                    // The database's refusal or absence, answered as every page answers it.
                    await ErrorAsync(context, problem.Status, problem.Title, problem.Message).ConfigureAwait(false);
                    return;
                }
            }

            if (eml is null)
            {
                await ErrorAsync(context, StatusCodes.Status404NotFound, "Not found", $"There is no mail {id}.").ConfigureAwait(false);
                return;
            }

            await using (eml.ConfigureAwait(false))
            {
                context.Response.ContentType = "message/rfc822";
                context.Response.ContentLength = eml.Length;
                context.Response.Headers.ContentDisposition = $"attachment; filename=\"mail-{id}.eml\"";
                await eml.CopyToAsync(context.Response.Body, context.RequestAborted).ConfigureAwait(false);
            }
        }

        private static long IdOf(HttpContext context) => long.Parse((string)context.Request.RouteValues["id"]!, System.Globalization.CultureInfo.InvariantCulture);

        private static NotFoundException NoMail(HttpContext context) => new($"There is no mail {IdOf(context)}.");
    }

    // The client and the count only: never the password, nor the name tried (often a password typed in the wrong field).
    [LoggerMessage(Level = LogLevel.Warning, Message = "dashboard: wrong login from {Client} ({Failures} in a row)")]
    private static partial void LogFailedLogin(ILogger logger, string client, int failures);

    [LoggerMessage(Level = LogLevel.Error, Message = "dashboard: {Path} failed: {Kind}: {Reason}")]
    private static partial void LogFailure(ILogger logger, string path, string kind, string reason);

    private sealed class NotFoundException(string message) : Exception(message);

    private sealed class ReadOnlyException() : Exception(ReadOnly);
}
