using System.Net;
using Outbox.Configuration;

namespace Outbox.Dashboard;

/// <summary>
/// Where the dashboard listens and whom it lets in, from Outbox:Dashboard. It listens on an IP
/// address (or localhost) and a port; beyond loopback it demands a login, so a dashboard reachable
/// from the network is never open.
/// </summary>
public sealed record DashboardBinding(string Url, IPAddress? Address, int Port, DashboardLogin? Login)
{
    /// <summary>The address `outbox dashboard` uses when Outbox:Dashboard:Url is not set.</summary>
    public const string DefaultUrl = "http://127.0.0.1:9466/";

    /// <summary>Null Address: "localhost", both loopback addresses.</summary>
    public bool IsLoopback => Address is null || IPAddress.IsLoopback(Address);

    /// <summary>The binding of valid options (see <see cref="Validate"/>), with the password read from its file.</summary>
    public static DashboardBinding From(DashboardOptions options, string? url = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        url ??= options.Url ?? DefaultUrl;
        var failures = new List<string>();
        var parsed = Parse(url, failures);
        if (parsed is { } p)
        {
            failures.AddRange(Problems(options, p.Address));
        }

        if (failures.Count > 0 || parsed is not { } found)
        {
            throw new ConfigurationException(failures);
        }

        return new DashboardBinding(url, found.Address, found.Port, DashboardLogin.From(options));
    }

    /// <summary>Adds one line per problem of the dashboard's options, each naming its key.</summary>
    public static void Validate(DashboardOptions options, List<string> failures)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(failures);
        if (!string.IsNullOrEmpty(options.Url) && Parse(options.Url, failures) is { } parsed)
        {
            failures.AddRange(Problems(options, parsed.Address));
        }
        else if (string.IsNullOrEmpty(options.Url))
        {
            // `outbox dashboard` listens on the default then; its login must still be whole.
            failures.AddRange(Problems(options, IPAddress.Loopback));
        }
    }

    private static (IPAddress? Address, int Port)? Parse(string url, List<string> failures)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.IsDefaultPort || uri.AbsolutePath != "/" || uri.Query.Length > 0)
        {
            failures.Add($"Outbox:Dashboard:Url: \"{url}\" is not an http URL with a port and no path, e.g. \"{DefaultUrl}\".");
            return null;
        }

        if (uri.Scheme != Uri.UriSchemeHttp)
        {
            failures.Add($"Outbox:Dashboard:Url: \"{url}\" is not http; the dashboard speaks plain HTTP, so put TLS in a reverse proxy in front of it (see docs/dashboard.md).");
            return null;
        }

        if (uri.IsLoopback && uri.HostNameType == UriHostNameType.Dns)
        {
            return (null, uri.Port);
        }

        if (!IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address))
        {
            failures.Add($"Outbox:Dashboard:Url: \"{uri.Host}\" is a host name; give the IP address to listen on (127.0.0.1, a host's own address, or 0.0.0.0 for all).");
            return null;
        }

        return (address, uri.Port);
    }

    private static List<string> Problems(DashboardOptions options, IPAddress? address)
    {
        var problems = new List<string>();
        var hasPassword = !string.IsNullOrEmpty(options.Password) || !string.IsNullOrEmpty(options.PasswordFile);
        if (!string.IsNullOrEmpty(options.Password) && !string.IsNullOrEmpty(options.PasswordFile))
        {
            problems.Add("Outbox:Dashboard:Password: give Password or PasswordFile, not both.");
        }

        if (string.IsNullOrEmpty(options.UserName) != !hasPassword)
        {
            problems.Add(string.IsNullOrEmpty(options.UserName)
                ? "Outbox:Dashboard:UserName: is empty, but a password is set; give the login's name too."
                : "Outbox:Dashboard:PasswordFile: is empty, but UserName is set; give PasswordFile (or Password) too.");
        }

        if (options.UserName?.Contains(':', StringComparison.Ordinal) == true || options.UserName?.Any(char.IsControl) == true)
        {
            problems.Add("Outbox:Dashboard:UserName: may not hold a colon or a control character (HTTP Basic cannot carry them).");
        }

        if (!string.IsNullOrEmpty(options.PasswordFile) && !File.Exists(options.PasswordFile))
        {
            problems.Add($"Outbox:Dashboard:PasswordFile: the file {options.PasswordFile} does not exist.");
        }

        if (SecretFile.Problem("Outbox:Dashboard:PasswordFile", options.PasswordFile) is { } readable)
        {
            problems.Add(readable);
        }

        if (options.DatabaseConnections is < 1 or > 100)
        {
            problems.Add($"Outbox:Dashboard:DatabaseConnections: must be from 1 to 100 (it is {options.DatabaseConnections}); the dashboard's pool is kept small so it never takes the worker's connections.");
        }

        if (options.MaxDownloadBytes < 1)
        {
            problems.Add($"Outbox:Dashboard:MaxDownloadBytes: must be 1 or more (it is {options.MaxDownloadBytes}), e.g. 268435456 for 256 MiB.");
        }

        if (address is not null && !IPAddress.IsLoopback(address) && string.IsNullOrEmpty(options.UserName))
        {
            problems.Add($"Outbox:Dashboard:UserName: is required, as the dashboard would listen on {address}, beyond this host; set UserName and PasswordFile, or listen on 127.0.0.1.");
        }

        return problems;
    }
}
