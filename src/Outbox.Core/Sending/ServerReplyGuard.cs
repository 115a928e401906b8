using System.Diagnostics;
using System.Net.Sockets;
using MailKit;

namespace Outbox.Core.Sending;

/// <summary>
/// Bounds every reply an SMTP server sends, in bytes, lines and wall time. MailKit collects a
/// reply until its last line, without a limit, and times out only a read that gets no byte:
/// a server that keeps sending one endless reply would fill the worker's memory and never time
/// out. MailKit shows a protocol logger every byte it reads (after TLS) and every byte it
/// writes, so this logger sees each reply start and grow, and ends the session (an
/// <see cref="SmtpReplyLimitException"/> out of MailKit's read) as soon as a reply is too
/// large or keeps coming past the timeout. It also shortens the socket's read timeout to what
/// is left of the reply's time, so a reply trickled byte by byte ends on time too.
/// </summary>
internal sealed class ServerReplyGuard : IProtocolLogger
{
    /// <summary>RFC 5321 allows 512 bytes a reply line; real servers stay far below this.</summary>
    public const int MaxLineBytes = 4096;

    /// <summary>An EHLO reply of a few dozen lines is usual; a few hundred is generous.</summary>
    public const int MaxLines = 1000;

    public const int MaxReplyBytes = 256 * 1024;

    private readonly TimeSpan _timeout;
    private Socket? _socket;
    private int _readTimeout;
    private long _replyStarted = Stopwatch.GetTimestamp();
    private int _replyBytes;
    private int _lines;
    private int _lineBytes;
    private bool _continued;

    public ServerReplyGuard(TimeSpan timeout)
    {
        _timeout = timeout;
    }

    public IAuthenticationSecretDetector? AuthenticationSecretDetector { get; set; }

    /// <summary>The connection's socket, whose read timeout follows each reply's deadline.</summary>
    public void Attach(Socket socket)
    {
        _socket = socket;
        SetReadTimeout(_timeout);
    }

    public void LogConnect(Uri uri) => StartReply();

    // The client wrote (a command, or message data): what comes next is the answer to it, with
    // the whole timeout again.
    public void LogClient(byte[] buffer, int offset, int count)
    {
        StartReply();
        SetReadTimeout(_timeout);
    }

    public void LogServer(byte[] buffer, int offset, int count)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        var bytes = buffer.AsSpan(offset, count);
        while (!bytes.IsEmpty)
        {
            var end = bytes.IndexOf((byte)'\n');
            var line = end < 0 ? bytes : bytes[..(end + 1)];
            Count(line, complete: end >= 0);
            bytes = bytes[line.Length..];
        }

        var left = _timeout - Stopwatch.GetElapsedTime(_replyStarted);
        if (_replyBytes > 0 && left <= TimeSpan.Zero)
        {
            throw new SmtpReplyLimitException(
                $"the server kept sending its reply past Outbox:Smtp:Timeout ({_timeout:c}) without ending it");
        }

        SetReadTimeout(_replyBytes > 0 ? left : _timeout);
    }

    public void Dispose()
    {
    }

    private void Count(ReadOnlySpan<byte> line, bool complete)
    {
        // The fourth byte of a reply line says whether another line follows ("250-") or not ("250 ").
        if (_lineBytes == 0)
        {
            _continued = false;
        }

        if (_lineBytes <= 3 && line.Length > 3 - _lineBytes)
        {
            _continued = line[3 - _lineBytes] == (byte)'-';
        }

        _lineBytes += line.Length;
        _replyBytes += line.Length;
        if (_lineBytes > MaxLineBytes)
        {
            throw new SmtpReplyLimitException($"a line of the server's reply ran past {MaxLineBytes} bytes without a line break");
        }

        if (_replyBytes > MaxReplyBytes)
        {
            throw new SmtpReplyLimitException($"the server's reply ran past {MaxReplyBytes / 1024} KiB");
        }

        if (!complete)
        {
            return;
        }

        _lineBytes = 0;
        if (!_continued)
        {
            StartReply();
            return;
        }

        if (++_lines >= MaxLines)
        {
            throw new SmtpReplyLimitException($"the server's reply ran past {MaxLines} lines");
        }
    }

    private void StartReply()
    {
        _replyStarted = Stopwatch.GetTimestamp();
        _replyBytes = 0;
        _lines = 0;
        _lineBytes = 0;
    }

    // Set only when it changes: message data is written in thousands of chunks, each logged.
    private void SetReadTimeout(TimeSpan timeout)
    {
        var milliseconds = (int)Math.Clamp(timeout.TotalMilliseconds, 1, int.MaxValue);
        if (_socket is { } socket && milliseconds != _readTimeout)
        {
            socket.ReceiveTimeout = milliseconds;
            _readTimeout = milliseconds;
        }
    }
}
