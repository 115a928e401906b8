using System.Security.Cryptography;
using MimeKit;
using Outbox.Core.Messages;
using Outbox.Core.Sending;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

[CollectionDefinition(nameof(RunsAlone), DisableParallelization = true)]
public sealed class RunsAlone;

/// <summary>
/// The worker streams attachments from the database to the transport: the managed heap does not
/// grow with the attachment's size. Runs alone, so other tests' allocations do not count.
/// </summary>
[Collection(nameof(RunsAlone))]
public sealed class StreamingMemoryTests(PostgresServer postgres)
{
    private const long AttachmentSize = 64L * 1024 * 1024;
    private const long AllowedGrowth = 16L * 1024 * 1024;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgresql")]
    public async Task Sending_a_64_MB_attachment_does_not_hold_it_in_memory(string provider)
    {
        await using var outbox = provider == "sqlite" ? await TestOutbox.SqliteAsync() : await TestOutbox.PostgresAsync(postgres);
        await outbox.EnqueueAsync(new MailRequest
        {
            Sender = "app@example.com",
            To = ["to@example.com"],
            Attachments = [new MailAttachment { FileName = "big.bin", Content = new PatternStream(AttachmentSize) }],
        });

        var pickup = Directory.CreateTempSubdirectory("outbox-pickup-");
        var dispatcher = outbox.Dispatcher(new PickupDirectoryTransport(pickup.FullName));
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        var baseline = GC.GetTotalMemory(forceFullCollection: true);
        long peak = baseline;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, GC.GetTotalMemory(forceFullCollection: false));
                await Task.Delay(2, CancellationToken.None);
            }
        }, CancellationToken.None);

        var summary = await dispatcher.DispatchDueAsync(Ct);
        await sampling.CancelAsync();
        await sampler;

        Assert.Equal(1, summary.Sent);
        Assert.True(peak - baseline < AllowedGrowth,
            $"the managed heap grew by {(peak - baseline) / 1024 / 1024} MB while sending a {AttachmentSize / 1024 / 1024} MB attachment (allowed: {AllowedGrowth / 1024 / 1024} MB)");

        var file = Assert.Single(pickup.GetFiles("*.eml"));
        await using (var stream = file.OpenRead())
        {
            var message = await MimeMessage.LoadAsync(stream, persistent: true, Ct);
            var part = Assert.IsType<MimePart>(Assert.Single(message.Attachments));
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await using var decoded = new HashingStream(hash);
            await part.Content!.DecodeToAsync(decoded, Ct);
            Assert.Equal(AttachmentSize, decoded.Count);
            Assert.Equal(await ExpectedHashAsync(), hash.GetHashAndReset());
        }

        pickup.Delete(recursive: true);
    }

    private static async Task<byte[]> ExpectedHashAsync()
    {
        using var sha = SHA256.Create();
        return await sha.ComputeHashAsync(new PatternStream(AttachmentSize), Ct);
    }

    private sealed class HashingStream(IncrementalHash hash) : Stream
    {
        public long Count { get; private set; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => Count;

        public override long Position { get => Count; set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count)
        {
            hash.AppendData(buffer, offset, count);
            Count += count;
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
