using Outbox.Core.Validation;

namespace Outbox.Commands;

/// <summary>The files a command reads, each checked and bounded before it is read: a file (not a folder, pipe or socket) that exists, UTF-8, not larger than the command takes.</summary>
internal static class CliFiles
{
    // Refuses invalid bytes instead of replacing them with U+FFFD: the text would change silently.
    private static readonly System.Text.UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static FileStream Open(FileInfo file, string option)
    {
        if (Directory.Exists(file.FullName))
        {
            throw new MailValidationException(option, $"{file.FullName} is a folder, not a file", "Name a file; attach a folder's files one by one, or an archive of them");
        }

        if (!file.Exists)
        {
            throw new MailValidationException(option, $"the file {file.FullName} does not exist", "Check the path");
        }

        if (!FileKind.IsReadableToEnd(file.FullName))
        {
            throw new MailValidationException(option, $"{file.FullName} is a pipe or socket, not a file", "Save what it gives into a file and name that file");
        }

        return new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, useAsync: true);
    }

    /// <summary>The text of a UTF-8 file, or null without a file; refused naming the option when larger than maxBytes.</summary>
    public static async Task<string?> ReadTextAsync(FileInfo? file, string option, long maxBytes, CancellationToken cancellationToken)
    {
        if (file is null)
        {
            return null;
        }

        await using var stream = Open(file, option);
        if (stream.Length > maxBytes)
        {
            throw new MailValidationException(option, $"{file.FullName} is {stream.Length} bytes, more than the {maxBytes} allowed", "Shorten it");
        }

        using var reader = new StreamReader(stream, StrictUtf8, detectEncodingFromByteOrderMarks: true);
        try
        {
            return await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (System.Text.DecoderFallbackException)
        {
            throw new MailValidationException(option, $"{file.FullName} is not valid UTF-8", "Convert it first, e.g. iconv -f latin1 -t utf-8");
        }
    }
}
