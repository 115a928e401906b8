using System.Text;
using MimeKit;
using Outbox.Core.Messages;

namespace Outbox.Core.Sending;

/// <summary>
/// Writes each mail as an .eml file instead of sending it: the embedded default, and a way to
/// look at exactly what would go out. The envelope is kept as X-Sender / X-Receiver lines at the
/// top of the file (the IIS pickup convention), so Bcc recipients are visible too.
/// </summary>
public sealed class PickupDirectoryTransport : IMailTransport
{
    private readonly string _directory;

    public PickupDirectoryTransport(string directory)
    {
        _directory = Path.GetFullPath(directory);
    }

    /// <summary>Writing a file again does no harm: a file half written is never renamed to .eml.</summary>
    public LostReplyPolicy LostReplyPolicy => LostReplyPolicy.Resend;

    public Task<IMailSession> OpenAsync(CancellationToken cancellationToken)
    {
        try
        {
            Directory.CreateDirectory(_directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new TransportConfigurationException($"Outbox:Pickup:Directory: cannot create {_directory} ({ex.Message})", ex);
        }

        return Task.FromResult<IMailSession>(new PickupSession(_directory));
    }

    private sealed class PickupSession(string directory) : IMailSession
    {
        public bool IsConnected => true;

        public bool CanSendMore => true;

        public string Account => "pickup";

        public async Task<DeliveryResult> SendAsync(OutgoingMessage message, CancellationToken cancellationToken)
        {
            await message.StartingAsync(cancellationToken).ConfigureAwait(false);
            var name = $"{DateTime.UtcNow:yyyyMMddTHHmmssfff}-{Guid.NewGuid():N}.eml";
            var path = Path.Combine(directory, name);
            var partial = path + ".tmp";
            await using (var file = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true))
            {
                var envelope = new StringBuilder().Append("X-Sender: ").Append(message.Sender.Address).Append("\r\n");
                foreach (var recipient in message.Recipients)
                {
                    envelope.Append("X-Receiver: ").Append(recipient.Address).Append("\r\n");
                }

                await file.WriteAsync(Encoding.UTF8.GetBytes(envelope.ToString()), cancellationToken).ConfigureAwait(false);
                await message.Message.WriteToAsync(FormatOptions.Default, file, cancellationToken).ConfigureAwait(false);
            }

            // Renamed only when complete, so a program watching the folder never reads half a mail.
            File.Move(partial, path);
            return new DeliveryResult(250, $"written to {path}", []);
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
