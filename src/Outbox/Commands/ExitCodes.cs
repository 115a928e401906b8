namespace Outbox.Commands;

/// <summary>
/// What every `outbox` command exits with, so a script can tell the cases apart (the README's
/// table lists them). `check smtp` and `check db` exit with <see cref="Failed"/> when the thing
/// checked would not work.
/// </summary>
public static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The command ran, but mails failed (run --once), or the check did not pass.</summary>
    public const int Failed = 1;

    /// <summary>The command line or a value given on it is wrong: nothing was done.</summary>
    public const int Usage = 2;

    /// <summary>The configuration is wrong (a key, a TLS or login setting, the schema's version).</summary>
    public const int Configuration = 3;

    /// <summary>The database or the SMTP server could not be reached (or refused service for now): try again later.</summary>
    public const int Unreachable = 4;
}
