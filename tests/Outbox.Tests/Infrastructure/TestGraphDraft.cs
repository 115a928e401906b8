using System.Collections.Concurrent;
using MimeKit;

namespace Outbox.Tests.Infrastructure;

/// <summary>
/// A draft in the stand-in Graph: the MIME it was made from, and the attachments added to it
/// (fileAttachments whole, upload sessions chunk by chunk). Sent, it is that MIME with the
/// attachments added as parts, which is what the receivers of a real draft get.
/// </summary>
public sealed class TestGraphDraft(MimeMessage message)
{
    private readonly ConcurrentQueue<Upload> _attachments = new();

    /// <summary>The name of an attachment whose upload has not received all its bytes, if any.</summary>
    public string? Incomplete => _attachments.FirstOrDefault(a => a.Received != a.Size)?.Name;

    public void Attach(string name, string contentType, bool isInline, string? contentId, byte[] content)
    {
        var upload = new Upload(name, contentType, isInline, contentId, content.Length);
        upload.Add(content);
        _attachments.Enqueue(upload);
    }

    public Upload StartUpload(string name, string contentType, bool isInline, string? contentId, long size)
    {
        var upload = new Upload(name, contentType, isInline, contentId, size);
        _attachments.Enqueue(upload);
        return upload;
    }

    public MimeMessage Assemble()
    {
        if (_attachments.IsEmpty)
        {
            return message;
        }

        var mixed = new Multipart("mixed") { message.Body! };
        foreach (var attachment in _attachments)
        {
            var part = new MimePart(ContentType.Parse(attachment.ContentType))
            {
                Content = new MimeContent(new MemoryStream(attachment.Bytes())),
                ContentDisposition = new ContentDisposition(attachment.IsInline ? ContentDisposition.Inline : ContentDisposition.Attachment),
                ContentTransferEncoding = ContentEncoding.Base64,
                FileName = attachment.Name,
            };
            if (attachment.ContentId is not null)
            {
                part.ContentId = attachment.ContentId;
            }

            mixed.Add(part);
        }

        message.Body = mixed;
        return message;
    }

    /// <summary>An attachment being received; its authtoken is what the upload URL must carry.</summary>
    public sealed class Upload(string name, string contentType, bool isInline, string? contentId, long size)
    {
        private readonly List<byte[]> _chunks = [];
        private long _received;

        public string Name => name;

        public string ContentType => contentType;

        public bool IsInline => isInline;

        public string? ContentId => contentId;

        public long Size => size;

        public string Token { get; } = Convert.ToHexString(Guid.NewGuid().ToByteArray());

        public long Received
        {
            get
            {
                lock (_chunks)
                {
                    return _received;
                }
            }
        }

        public void Add(byte[] chunk)
        {
            lock (_chunks)
            {
                _chunks.Add(chunk);
                _received += chunk.Length;
            }
        }

        public byte[] Bytes()
        {
            lock (_chunks)
            {
                return _chunks.SelectMany(c => c).ToArray();
            }
        }
    }
}
