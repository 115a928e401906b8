using System.Text;
using MimeKit.Utils;

namespace Outbox.Storage.Admin;

/// <summary>
/// The subject of a UTL_SMTP-shaped mail as a person reads it. close_mail stores the Subject
/// header as the caller wrote it (bytes read as Latin-1, possibly folded, possibly RFC 2047
/// encoded-words); this turns it back into text.
/// </summary>
internal static class RawSubject
{
    public static string? Readable(string kind, string? subject)
    {
        if (kind != "raw" || subject is null)
        {
            return subject;
        }

        var unfolded = subject.Replace("\r\n", string.Empty, StringComparison.Ordinal).Replace("\n", string.Empty, StringComparison.Ordinal);
        return Rfc2047.DecodeText(Encoding.Latin1.GetBytes(unfolded)).Trim();
    }
}
