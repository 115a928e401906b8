using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Outbox.Core.Sending;
using Outbox.Core.Sending.Accounts;
using Outbox.Core.Sending.Graph;
using Outbox.Core.Sending.OAuth;

namespace Outbox.Configuration;

/// <summary>Checks the whole configuration and reports every problem at once, each naming its key.</summary>
/// <param name="smtpFilesNeededBy">
/// The command that will reach the SMTP server ("outbox run"), for which the files the SMTP
/// settings name (CA, password, client secret, certificate) must exist; null for a command that
/// does not (list, status, show…), which then runs while, say, a systemd credential is absent.
/// </param>
public sealed partial class OutboxOptionsValidator(string? smtpFilesNeededBy = "outbox run") : IValidateOptions<OutboxOptions>
{
    private static readonly string[] Providers = ["sqlite", "postgresql", "postgres", "npgsql", "oracle"];

    public ValidateOptionsResult Validate(string? name, OutboxOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (!Providers.Contains(options.Database.Provider?.Trim().ToLowerInvariant()))
        {
            failures.Add($"Outbox:Database:Provider: \"{options.Database.Provider}\" is not supported; use sqlite, postgresql or oracle.");
        }

        if (options.Database.Provider?.Trim().ToLowerInvariant() == "oracle" && options.Dispatch.BatchSize > 1000)
        {
            failures.Add($"Outbox:Dispatch:BatchSize: {options.Dispatch.BatchSize} is more than Oracle takes in one IN list; use at most 1000.");
        }

        if (!string.IsNullOrWhiteSpace(options.Database.Schema) && options.Database.Provider?.Trim().ToLowerInvariant() != "oracle")
        {
            failures.Add("Outbox:Database:Schema: is for oracle only (PostgreSQL's tables are always in schema outbox); remove it.");
        }

        if (string.IsNullOrWhiteSpace(options.Database.ConnectionString))
        {
            failures.Add("Outbox:Database:ConnectionString: is empty.");
        }

        switch (options.Transport?.Trim().ToLowerInvariant())
        {
            case "graph":
                ValidateGraph(options.Graph, "Outbox:Graph", failures);
                ValidateRateLimits(SmtpOptions.GraphAccount(options.Graph), "Outbox:Graph", failures);
                if (options.Accounts.Count > 0)
                {
                    failures.Add("Outbox:Accounts: is used with Outbox:Transport smtp, whose accounts may each be smtp or graph; set Transport to smtp, or remove Outbox:Accounts to send only through Outbox:Graph.");
                }

                break;
            case "smtp" when options.Accounts.Count == 0:
                ValidateSmtp(options.Smtp, "Outbox:Smtp", failures);
                if (!options.Smtp.Transport.Trim().Equals("smtp", StringComparison.OrdinalIgnoreCase))
                {
                    failures.Add("Outbox:Smtp:Transport: is for Outbox:Accounts entries; to send through Microsoft Graph set Outbox:Transport to graph and fill Outbox:Graph.");
                }

                break;
            case "smtp":
                ValidateAccounts(options, failures);
                break;
            case "pickup":
                if (string.IsNullOrWhiteSpace(options.Pickup.Directory))
                {
                    failures.Add("Outbox:Pickup:Directory: is empty; name the folder the .eml files go to.");
                }

                break;
            default:
                failures.Add($"Outbox:Transport: \"{options.Transport}\" is not a transport; use smtp, graph or pickup.");
                break;
        }

        ValidateDispatch(options.Dispatch, failures);
        foreach (var (key, url) in new[] { ("PrometheusUrl", options.Monitoring.PrometheusUrl), ("HealthUrl", options.Monitoring.HealthUrl) })
        {
            if (!string.IsNullOrEmpty(url) && (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp || uri.IsDefaultPort))
            {
                failures.Add($"Outbox:Monitoring:{key}: \"{url}\" is not an http URL with a port, e.g. \"http://localhost:9464/\".");
            }
        }

        if (options.Monitoring.QueueInterval <= TimeSpan.Zero)
        {
            failures.Add("Outbox:Monitoring:QueueInterval: must be positive.");
        }

        ValidateRetention(options.Retention, failures);
        ValidateSafety(options.Safety, failures);
        Dashboard.DashboardBinding.Validate(options.Dashboard, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateSafety(SafetyOptions safety, List<string> failures)
    {
        foreach (var (key, list) in new[] { ("RedirectTo", safety.RedirectTo), ("AllowedDomains", safety.AllowedDomains) })
        {
            if (list.Count > SafetyOptions.MaxEntries)
            {
                failures.Add($"Outbox:Safety:{key}: holds {list.Count} entries; give at most {SafetyOptions.MaxEntries}.");
            }
        }

        foreach (var (address, index) in safety.RedirectTo.Take(SafetyOptions.MaxEntries).Select((a, i) => (a, i)))
        {
            var shown = address.Length <= 100 ? address : address[..100] + "…";
            if (address.Length > 254 || !BareAddress().IsMatch(address.Trim()))
            {
                failures.Add($"Outbox:Safety:RedirectTo:{index}: \"{Printable(shown)}\" is not a mail address; write it as qa@test.example.com.");
            }
        }

        foreach (var (domain, index) in safety.AllowedDomains.Take(SafetyOptions.MaxEntries).Select((d, i) => (d, i)))
        {
            var shown = domain.Length <= 100 ? domain : domain[..100] + "…";
            if (domain.Length > 253 || !DomainName().IsMatch(domain.Trim()))
            {
                failures.Add($"Outbox:Safety:AllowedDomains:{index}: \"{Printable(shown)}\" is not a domain; write it as example.com (no @, no wildcard; an internationalized domain in its xn-- form).");
            }
        }
    }

    private static string Printable(string text) => new(text.Select(c => char.IsControl(c) ? '?' : c).ToArray());

    [GeneratedRegex("""^[^\s@<>(),;:"\[\]\\]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$""")]
    private static partial Regex BareAddress();

    [GeneratedRegex("^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")]
    private static partial Regex DomainName();

    private void ValidateSmtp(SmtpOptions smtp, string key, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(smtp.Host))
        {
            failures.Add($"{key}:Host: is empty; name the SMTP server (or set Outbox:Transport to pickup).");
        }

        if (smtp.Port is < 1 or > 65535)
        {
            failures.Add($"{key}:Port: {smtp.Port} is not a TCP port.");
        }

        if (smtp.Security == SmtpSecurity.None && !smtp.AllowInsecure)
        {
            failures.Add($"{key}:Security: None sends mail in plaintext; set {key}:AllowInsecure to true to accept that, or use StartTls.");
        }

        if (smtp.Security == SmtpSecurity.None && !string.IsNullOrEmpty(smtp.UserName))
        {
            failures.Add($"{key}:UserName: a password is never sent over a plaintext connection; use Security StartTls or SslOnConnect.");
        }

        foreach (var (name, file) in new[] { ("CaFile", smtp.CaFile), ("PasswordFile", smtp.PasswordFile) })
        {
            RequireFile($"{key}:{name}", file, failures);
        }

        AddSecretFileProblem($"{key}:PasswordFile", smtp.PasswordFile, failures);

        foreach (var pin in smtp.CertificatePins.Where(pin => !Sha256Hex().IsMatch(pin)))
        {
            failures.Add($"{key}:CertificatePins: \"{pin}\" is not a SHA-256 fingerprint (64 hex digits, colons allowed).");
        }

        if (smtp.MessagesPerConnection < 0)
        {
            failures.Add($"{key}:MessagesPerConnection: must be 0 (no limit) or more.");
        }

        if (smtp.Timeout <= TimeSpan.Zero)
        {
            failures.Add($"{key}:Timeout: must be positive, e.g. \"00:01:00\".");
        }

        ValidateOAuth2(smtp, key, failures);
        ValidateRateLimits(smtp, key, failures);
    }

    // An account that sends through Graph: Graph's settings, and none of SMTP's, which it would ignore.
    private void ValidateGraphAccount(SmtpOptions account, string key, List<string> failures)
    {
        foreach (var (name, value) in new[] { ("Host", account.Host), ("UserName", account.UserName), ("Password", account.Password), ("PasswordFile", account.PasswordFile) })
        {
            if (!string.IsNullOrEmpty(value))
            {
                failures.Add($"{key}:{name}: is not used with Transport graph (the account sends as {key}:Mailbox with an OAuth2 token); remove it.");
            }
        }

        ValidateGraph(account.ToGraph(), key, failures);
        ValidateRateLimits(account, key, failures);
    }

    private void ValidateGraph(GraphOptions graph, string key, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(graph.Mailbox))
        {
            failures.Add($"{key}:Mailbox: is empty; name the mailbox mail goes out as (its user principal name, e.g. outbox@contoso.com, or its object id).");
        }

        RequireHttps($"{key}:BaseUrl", graph.BaseUrl, required: true, failures);
        if (!graph.SaveToSentItems)
        {
            failures.Add($"{key}:SaveToSentItems: false cannot be honoured: a MIME sendMail always saves a copy in Sent Items (Graph's saveToSentItems is for JSON messages only); remove it or set it to true.");
        }

        if (graph.Timeout <= TimeSpan.Zero)
        {
            failures.Add($"{key}:Timeout: must be positive, e.g. \"00:01:00\".");
        }

        RequireFile($"{key}:CaFile", graph.CaFile, failures);
        if (graph.OAuth2.Provider == OAuth2Provider.None)
        {
            failures.Add($"{key}:OAuth2:Provider: is None; Graph takes only the app's own token: set Microsoft (TenantId, ClientId, ClientSecret or CertificateFile) or TokenEndpoint.");
            return;
        }

        ValidateOAuth2Credentials(graph.OAuth2, $"{key}:OAuth2", failures);
    }

    private void AddSecretFileProblem(string key, string? file, List<string> failures)
    {
        if (smtpFilesNeededBy is not null && SecretFile.Problem(key, file) is { } problem)
        {
            failures.Add(problem);
        }
    }

    private void RequireFile(string key, string? file, List<string> failures)
    {
        if (smtpFilesNeededBy is not null && !string.IsNullOrEmpty(file) && !File.Exists(file))
        {
            failures.Add($"{key}: the file {file} does not exist; {smtpFilesNeededBy} needs it to reach the SMTP server.");
        }
    }

    private void ValidateOAuth2(SmtpOptions smtp, string key, List<string> failures)
    {
        var oauth = smtp.OAuth2;
        if (oauth.Provider == OAuth2Provider.None)
        {
            return;
        }

        var oauthKey = $"{key}:OAuth2";
        if (string.IsNullOrWhiteSpace(smtp.UserName))
        {
            failures.Add($"{key}:UserName: is empty; with OAuth2 it names the mailbox to send as (XOAUTH2 user).");
        }

        if (!string.IsNullOrEmpty(smtp.Password) || !string.IsNullOrEmpty(smtp.PasswordFile))
        {
            failures.Add($"{key}:Password: is not used with OAuth2 (the token replaces it); remove Password and PasswordFile.");
        }

        ValidateOAuth2Credentials(oauth, oauthKey, failures);
    }

    // The app's credentials, for SMTP's XOAUTH2 and for Graph alike.
    private void ValidateOAuth2Credentials(OAuth2Options oauth, string oauthKey, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(oauth.ClientId))
        {
            failures.Add($"{oauthKey}:ClientId: is empty; give the application (client) id.");
        }

        var secrets = (string.IsNullOrEmpty(oauth.ClientSecret) && string.IsNullOrEmpty(oauth.ClientSecretFile) ? 0 : 1) + (string.IsNullOrEmpty(oauth.CertificateFile) ? 0 : 1);
        if (oauth.Provider == OAuth2Provider.Microsoft)
        {
            if (string.IsNullOrWhiteSpace(oauth.TenantId) && string.IsNullOrWhiteSpace(oauth.Authority))
            {
                failures.Add($"{oauthKey}:TenantId: is empty; give the directory (tenant) id or domain.");
            }

            if (secrets != 1)
            {
                failures.Add($"{oauthKey}:ClientSecret: give exactly one of ClientSecret (or ClientSecretFile) and CertificateFile.");
            }

            RequireHttps($"{oauthKey}:Authority", oauth.Authority, required: false, failures);
        }
        else
        {
            RequireHttps($"{oauthKey}:TokenEndpoint", oauth.TokenEndpoint, required: true, failures);
            if (string.IsNullOrEmpty(oauth.ClientSecret) && string.IsNullOrEmpty(oauth.ClientSecretFile))
            {
                failures.Add($"{oauthKey}:ClientSecret: is empty; give ClientSecret (better: {oauthKey.Replace(":", "__", StringComparison.Ordinal)}__ClientSecret) or ClientSecretFile.");
            }

            if (!string.IsNullOrEmpty(oauth.CertificateFile))
            {
                failures.Add($"{oauthKey}:CertificateFile: is for the Microsoft provider only; a token endpoint takes ClientSecret.");
            }
        }

        foreach (var (name, file) in new[] { ("ClientSecretFile", oauth.ClientSecretFile), ("CertificateFile", oauth.CertificateFile) })
        {
            RequireFile($"{oauthKey}:{name}", file, failures);
            AddSecretFileProblem($"{oauthKey}:{name}", file, failures);
        }

        if (oauth.RefreshBefore < TimeSpan.Zero)
        {
            failures.Add($"{oauthKey}:RefreshBefore: must not be negative.");
        }
    }

    private void ValidateAccounts(OutboxOptions options, List<string> failures)
    {
        if (!string.IsNullOrWhiteSpace(options.Smtp.Host))
        {
            failures.Add("Outbox:Smtp: is not used when Outbox:Accounts is set; move it into Outbox:Accounts:NAME (and name that account in Outbox:Profiles).");
        }

        foreach (var (name, account) in options.Accounts)
        {
            var key = $"Outbox:Accounts:{name}";
            if (account.UsesGraph())
            {
                ValidateGraphAccount(account, key, failures);
            }
            else if (account.Transport.Trim().Equals("smtp", StringComparison.OrdinalIgnoreCase))
            {
                ValidateSmtp(account, key, failures);
            }
            else
            {
                failures.Add($"{key}:Transport: \"{account.Transport}\" is not an account's transport; use smtp or graph.");
            }
        }

        if (options.Accounts.Count > 1 && !options.Profiles.ContainsKey(Core.Sending.Accounts.RoutedTransport.DefaultProfile))
        {
            failures.Add("Outbox:Profiles:default: is missing; list the accounts mail goes through when it names no profile, e.g. \"Accounts\": [\"primary\", \"backup\"].");
        }

        foreach (var (name, profile) in options.Profiles)
        {
            if (profile.Accounts.Count == 0)
            {
                failures.Add($"Outbox:Profiles:{name}:Accounts: is empty; list the accounts to try, in order.");
            }

            foreach (var account in profile.Accounts.Where(a => !options.Accounts.ContainsKey(a)))
            {
                failures.Add($"Outbox:Profiles:{name}:Accounts: \"{account}\" is not an account; the accounts are {string.Join(", ", options.Accounts.Keys)}.");
            }
        }
    }

    private static void ValidateRateLimits(SmtpOptions smtp, string key, List<string> failures)
    {
        foreach (var limit in smtp.RateLimits)
        {
            if (limit.Messages < 1 || limit.Per <= TimeSpan.Zero)
            {
                failures.Add($"{key}:RateLimits: \"{limit.Messages} per {limit.Per}\" is not a limit; give Messages of 1 or more and a positive Per, e.g. {{ \"Messages\": 30, \"Per\": \"00:01:00\" }}.");
            }
        }

        if (smtp.MaxConnections < 0)
        {
            failures.Add($"{key}:MaxConnections: must be 0 (no cap) or more.");
        }

        if (!string.IsNullOrWhiteSpace(smtp.Preset) && ProviderPreset.Named(smtp.Preset) is null)
        {
            var named = smtp.Preset.Length > 40 ? $"{smtp.Preset[..40]}..." : smtp.Preset;
            failures.Add($"{key}:Preset: \"{Outbox.Core.Text.PrintableText.Escape(named)}\" is not a preset; use {string.Join(" or ", ProviderPreset.All.Select(p => p.Name))}, or remove it and set MaxConnections and RateLimits.");
        }
    }

    private static void RequireHttps(string key, string? value, bool required, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            if (required)
            {
                failures.Add($"{key}: is empty; give the https URL.");
            }

            return;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttps)
        {
            failures.Add($"{key}: \"{value}\" is not an https URL (a client secret is never sent in plaintext).");
        }
    }

    private static void ValidateDispatch(Core.Dispatch.DispatchOptions dispatch, List<string> failures)
    {
        if (dispatch.PollInterval <= TimeSpan.Zero)
        {
            failures.Add("Outbox:Dispatch:PollInterval: must be positive, e.g. \"00:00:10\".");
        }

        if (dispatch.BatchSize is < 1 or > 10_000)
        {
            failures.Add($"Outbox:Dispatch:BatchSize: {dispatch.BatchSize} is outside 1..10000.");
        }

        if (dispatch.Connections is < 1 or > 64)
        {
            failures.Add($"Outbox:Dispatch:Connections: {dispatch.Connections} is outside 1..64.");
        }

        if (dispatch.LeaseDuration < TimeSpan.FromSeconds(10))
        {
            failures.Add("Outbox:Dispatch:LeaseDuration: must be at least 00:00:10 (longer than sending one batch takes).");
        }

        if (dispatch.StopTimeout < TimeSpan.FromSeconds(1) || dispatch.StopTimeout > Core.Dispatch.DispatchOptions.MaxStopTimeout)
        {
            failures.Add($"Outbox:Dispatch:StopTimeout: must be between 1s and {Core.Dispatch.DispatchOptions.MaxStopTimeout.TotalSeconds:0}s (it must fit inside the service manager's stop timeout).");
        }

        if (dispatch.MaxAttempts < 1)
        {
            failures.Add("Outbox:Dispatch:MaxAttempts: must be at least 1.");
        }

        if (dispatch.RetryBaseDelay <= TimeSpan.Zero || dispatch.RetryMaxDelay < dispatch.RetryBaseDelay)
        {
            failures.Add("Outbox:Dispatch:RetryBaseDelay / RetryMaxDelay: the base must be positive and not above the maximum.");
        }

        if (dispatch.ConfigurationErrorPause <= TimeSpan.Zero)
        {
            failures.Add("Outbox:Dispatch:ConfigurationErrorPause: must be positive.");
        }
    }

    private static void ValidateRetention(RetentionOptions retention, List<string> failures)
    {
        if (retention.KeepFor is { } keep && keep <= TimeSpan.Zero)
        {
            failures.Add("Outbox:Retention:KeepFor: must be positive, e.g. \"90.00:00:00\" for 90 days (leave it out to keep everything).");
        }

        if (retention.DraftsKeepFor is { } drafts && drafts <= TimeSpan.Zero)
        {
            failures.Add("Outbox:Retention:DraftsKeepFor: must be positive, e.g. \"7.00:00:00\" for a week (null keeps drafts).");
        }

        if (!IsCron(retention.Schedule))
        {
            failures.Add($"Outbox:Retention:Schedule: \"{retention.Schedule}\" is not a Quartz cron expression (seconds minutes hours day-of-month month day-of-week), e.g. \"0 0 3 * * ?\".");
        }

        if (retention.BatchSize is < 1 or > 100_000)
        {
            failures.Add($"Outbox:Retention:BatchSize: {retention.BatchSize} is outside 1..100000.");
        }
    }

    private static bool IsCron(string? expression)
    {
        try
        {
            _ = new Quartz.CronExpression(expression ?? string.Empty);
            return true;
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException)
        {
            return false;
        }
    }

    [GeneratedRegex("^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$")]
    private static partial Regex Sha256Hex();
}
