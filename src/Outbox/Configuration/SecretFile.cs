namespace Outbox.Configuration;

/// <summary>
/// A file that holds a secret (a password, a client secret, a private key) must not be readable
/// by every user of the host: the worker refuses to start with one line naming it, as ssh does
/// for a private key.
/// </summary>
public static class SecretFile
{
    /// <summary>The problem with <paramref name="file"/> as the secret of <paramref name="key"/>, or null when others cannot read it (or it does not exist, or the system has no Unix modes).</summary>
    public static string? Problem(string key, string? file)
    {
        if (OperatingSystem.IsWindows() || string.IsNullOrEmpty(file) || !File.Exists(file))
        {
            return null;
        }

        var mode = File.GetUnixFileMode(file);
        return (mode & UnixFileMode.OtherRead) == 0
            ? null
            : $"{key}: the file {file} holds a secret but every user of this host can read it (mode {Convert.ToString((int)mode, 8).PadLeft(4, '0')}); make it readable by the service only, e.g. chmod 600 {file}.";
    }
}
