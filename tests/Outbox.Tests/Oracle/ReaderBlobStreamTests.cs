using Outbox.Core.Messages;
using Outbox.Storage;
using Outbox.Storage.Content;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests.Oracle;

/// <summary>
/// The stream the Oracle dialect reads attachments with uses only ADO.NET (GetBytes in
/// sequential access), so it is tested here against a real driver and database: PostgreSQL.
/// </summary>
public sealed class ReaderBlobStreamTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Reads_a_column_in_pieces_seeks_back_by_querying_again_and_forward_by_skipping()
    {
        const int length = (3 * 1024 * 1024) + 17;
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using (var connection = await outbox.OpenAsync())
        {
            await OutboxClient.For(connection).EnqueueAsync(connection, null, new MailRequest
            {
                Sender = "a@example.com",
                To = ["b@example.com"],
                Attachments = [new MailAttachment { FileName = "big.bin", Content = new PatternStream(length) }],
            }, Ct);
        }

        var id = await outbox.ScalarAsync<long>("select id from outbox.outbox_attachment");
        await using var stream = new ReaderBlobStream(outbox.Database.DataSource, "select content from outbox.outbox_attachment where id = @Id", id, length);

        var first = await ReadToEndAsync(stream);
        stream.Position = 0;
        var second = await ReadToEndAsync(stream);
        stream.Position = 2_000_000;
        var middle = new byte[100];
        await stream.ReadExactlyAsync(middle, Ct);

        Assert.Equal(length, first.Length);
        Assert.True(Enumerable.Range(0, length).All(i => first[i] == PatternStream.ByteAt(i)), "the bytes read differ from the bytes written");
        Assert.Equal(first, second);
        Assert.Equal(first.AsSpan(2_000_000, 100).ToArray(), middle);
        stream.Seek(-1, SeekOrigin.End);
        Assert.Equal(1, await stream.ReadAsync(new byte[10], Ct));
        Assert.Equal(0, await stream.ReadAsync(new byte[10], Ct));
    }

    [Fact]
    public async Task A_row_deleted_meanwhile_is_reported_by_its_id()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var stream = new ReaderBlobStream(outbox.Database.DataSource, "select content from outbox.outbox_attachment where id = @Id", 12345, 10);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => stream.ReadAsync(new byte[10], Ct).AsTask());

        Assert.Contains("attachment 12345 is gone", error.Message, StringComparison.Ordinal);
    }

    private static async Task<byte[]> ReadToEndAsync(Stream stream)
    {
        using var copy = new MemoryStream();
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await stream.ReadAsync(buffer, Ct)) > 0)
        {
            copy.Write(buffer, 0, read);
        }

        return copy.ToArray();
    }
}
