using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Outbox.Commands;

/// <summary>
/// Whether a path names a file whose bytes can be read to an end: not a named pipe (FIFO) or a
/// socket, whose open would wait for a writer and whose read may never end. .NET's file APIs do
/// not tell these apart on Unix, so the path is opened without blocking and asked whether it seeks.
/// </summary>
internal static class FileKind
{
    public static bool IsReadableToEnd(string path)
    {
        var nonBlocking = OperatingSystem.IsLinux() ? 0x800 : OperatingSystem.IsMacOS() ? 0x4 : -1;
        if (nonBlocking < 0)
        {
            return true;
        }

        var descriptor = Open(System.Text.Encoding.UTF8.GetBytes(path + "\0"), nonBlocking);
        if (descriptor < 0)
        {
            return true; // the ordinary open that follows reports why
        }

        using var handle = new SafeFileHandle(descriptor, ownsHandle: true);
        using var stream = new FileStream(handle, FileAccess.Read, 1);
        return stream.CanSeek;
    }

    // O_RDONLY is 0 on Linux and macOS.
    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open(byte[] path, int flags);
}
