using System.Text;

namespace Outbox.Core.Secrets;

/// <summary>
/// Removes configured secrets (a password, a client secret, a token) from text that came back
/// from a server, before that text is stored, logged or printed: a server may echo what it was
/// sent. Each secret is removed as written, URL-encoded, and base64-encoded at any alignment
/// (so an echoed AUTH PLAIN or XOAUTH2 blob, which holds the secret inside a longer base64
/// string, loses it too).
/// </summary>
public sealed class SecretScrubber
{
    /// <summary>What a removed secret is replaced with.</summary>
    public const string Mask = "(secret removed)";

    // Shorter values would match ordinary words; a secret this short is no secret anyway.
    private const int MinimumLength = 4;

    private readonly string[] _secrets;
    private readonly List<string> _forms;

    /// <summary>A scrubber with no secrets to remove (a transport that logs in with none).</summary>
    public static SecretScrubber None { get; } = new([]);

    public SecretScrubber(IEnumerable<string?> secrets)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        _secrets = secrets.Where(s => s is { Length: >= MinimumLength }).Select(s => s!).ToArray();
        _forms = _secrets.SelectMany(FormsOf)
            .Where(form => form.Length >= MinimumLength)
            .Distinct(StringComparer.Ordinal)
            .OrderByDescending(form => form.Length)
            .ToList();
    }

    /// <summary>One scrubber for the secrets of several (the accounts of a routed transport).</summary>
    public static SecretScrubber Combine(IEnumerable<SecretScrubber> scrubbers) => new(scrubbers.SelectMany(s => s._secrets));

    /// <summary>The text with every form of every secret replaced by <see cref="Mask"/>; null stays null.</summary>
    public string? Scrub(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text;
        }

        foreach (var form in _forms)
        {
            text = text.Replace(form, Mask, StringComparison.Ordinal);
        }

        return text;
    }

    private static IEnumerable<string> FormsOf(string secret)
    {
        yield return secret;
        yield return Uri.EscapeDataString(secret);
        var bytes = Encoding.UTF8.GetBytes(secret);
        for (var offset = 0; offset < 3; offset++)
        {
            yield return AlignedBase64(bytes, offset);
        }
    }

    // The base64 characters that encode only the secret's bytes when it starts `offset` bytes
    // into a 3-byte group: they appear unchanged in any base64 text that holds the secret there.
    private static string AlignedBase64(byte[] secret, int offset)
    {
        var padded = new byte[offset + secret.Length];
        secret.CopyTo(padded, offset);
        var encoded = Convert.ToBase64String(padded);
        var first = offset == 0 ? 0 : 4;
        var last = padded.Length / 3 * 4;
        return last > first ? encoded[first..last] : string.Empty;
    }
}
