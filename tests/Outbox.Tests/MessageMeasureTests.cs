using MimeKit;
using MimeKit.IO;
using MimeKit.Text;
using Outbox.Core.Sending;

namespace Outbox.Tests;

/// <summary>
/// The worker computes a message's size without encoding its attachments. The size must be the
/// byte count MimeKit writes: a lost reply is told from a connection lost mid-data by it, and
/// it is the SIZE= and BDAT length the server is told.
/// </summary>
public sealed class MessageMeasureTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<int> Lengths()
    {
        var lengths = new TheoryData<int>();
        foreach (var length in Enumerable.Range(0, 130).Concat([170, 171, 172, 1024, 4095, 4096, 57 * 1000, (57 * 1000) + 1, 1024 * 1024, 3_000_001]))
        {
            lengths.Add(length);
        }

        return lengths;
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public async Task Size_of_a_message_with_an_attachment_is_the_size_MimeKit_writes(int length)
    {
        using var message = Message(new TextPart(TextFormat.Plain) { Text = "see the attachment" }, Attachment(length, "a.bin"));

        Assert.Equal(await WrittenSizeAsync(message, NewLineFormat.Dos), await MessageMeasure.MeasureAsync(Dos, message, Ct));
        Assert.Equal(await WrittenSizeAsync(message, NewLineFormat.Unix), await MessageMeasure.MeasureAsync(Unix, message, Ct));
    }

    [Fact]
    public async Task Size_of_a_message_with_text_html_inline_and_several_attachments_is_the_size_MimeKit_writes()
    {
        var related = new MultipartRelated
        {
            new MultipartAlternative
            {
                new TextPart(TextFormat.Plain) { Text = "Grüße, with an 8-bit body that MimeKit encodes itself\r\n" + new string('x', 2000) },
                new TextPart(TextFormat.Html) { Text = "<p>hello <img src=\"cid:logo\"></p>" },
            },
        };
        var logo = Attachment(5000, "logo.png");
        logo.ContentId = "logo";
        logo.ContentDisposition = new ContentDisposition(ContentDisposition.Inline);
        related.Add(logo);
        using var message = Message(related, Attachment(1, "one.bin"), Attachment(100_000, "big report.csv"), Attachment(0, "empty.txt"));

        Assert.Equal(await WrittenSizeAsync(message, NewLineFormat.Dos), await MessageMeasure.MeasureAsync(Dos, message, Ct));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(57)]
    [InlineData(100)]
    [InlineData(300_000)]
    public async Task Size_of_a_message_whose_whole_body_is_one_base64_part_is_the_size_MimeKit_writes(int length)
    {
        using var message = Single(Attachment(length, "a.bin"));

        Assert.Equal(await WrittenSizeAsync(message, NewLineFormat.Dos), await MessageMeasure.MeasureAsync(Dos, message, Ct));
    }

    [Fact]
    public async Task Size_of_a_non_ascii_text_mail_prepared_for_a_seven_bit_server_is_the_size_MimeKit_writes()
    {
        // MimeKit picks base64 for such a text part: alone, and beside an attachment.
        var text = string.Concat(Enumerable.Repeat("Grüße aus Köln, Привет, こんにちは. ", 40));
        var body = new TextPart(TextFormat.Plain) { Text = text };
        using var alone = Single(body);
        Assert.Equal(ContentEncoding.Base64, body.ContentTransferEncoding);
        using var mixed = Message(new TextPart(TextFormat.Plain) { Text = text }, Attachment(1000, "a.bin"));

        Assert.Equal(await WrittenSizeAsync(alone, NewLineFormat.Dos), await MessageMeasure.MeasureAsync(Dos, alone, Ct));
        Assert.Equal(await WrittenSizeAsync(mixed, NewLineFormat.Dos), await MessageMeasure.MeasureAsync(Dos, mixed, Ct));
    }

    [Fact]
    public async Task Size_of_a_raw_mail_as_the_caller_wrote_it_is_the_size_MimeKit_writes()
    {
        const string raw = "From: app@example.com\r\nTo: to@example.com\r\nSubject: raw\r\nMIME-Version: 1.0\r\n" +
            "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n" +
            "--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n";
        using var message = await MimeMessage.LoadAsync(new MemoryStream(System.Text.Encoding.ASCII.GetBytes(raw)), Ct);
        message.Prepare(EncodingConstraint.SevenBit);

        Assert.Equal(await WrittenSizeAsync(message, NewLineFormat.Dos), await MessageMeasure.MeasureAsync(Dos, message, Ct));
    }

    [Fact]
    public async Task Measuring_leaves_the_message_as_it_was()
    {
        using var message = Message(new TextPart(TextFormat.Plain) { Text = "body" }, Attachment(10_000, "a.bin"));
        var before = await WrittenBytesAsync(message);

        await MessageMeasure.MeasureAsync(Dos, message, Ct);

        Assert.Equal(before, await WrittenBytesAsync(message));
    }

    [Fact]
    public async Task Parts_that_are_not_base64_are_measured_by_writing_them()
    {
        var quoted = new MimePart("text", "csv")
        {
            Content = new MimeContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("a;b;ç;\r\n", 500))))),
            ContentTransferEncoding = ContentEncoding.QuotedPrintable,
            FileName = "data.csv",
        };
        using var message = Message(new TextPart(TextFormat.Plain) { Text = "body" }, quoted);

        Assert.Equal(await WrittenSizeAsync(message, NewLineFormat.Dos), await MessageMeasure.MeasureAsync(Dos, message, Ct));
    }

    private static FormatOptions Dos { get; } = Options(NewLineFormat.Dos);

    private static FormatOptions Unix { get; } = Options(NewLineFormat.Unix);

    // As MailKit's SmtpClient formats a message for DATA.
    private static FormatOptions Options(NewLineFormat format)
    {
        var options = FormatOptions.Default.Clone();
        options.NewLineFormat = format;
        options.EnsureNewLine = true;
        return options;
    }

    private static MimeMessage Message(MimeEntity body, params MimePart[] attachments)
    {
        var message = new MimeMessage { Subject = "size", MessageId = "size@example.com", Date = DateTimeOffset.UnixEpoch };
        message.From.Add(MailboxAddress.Parse("app@example.com"));
        message.To.Add(MailboxAddress.Parse("to@example.com"));
        var mixed = new Multipart("mixed") { body };
        foreach (var attachment in attachments)
        {
            mixed.Add(attachment);
        }

        message.Body = mixed;
        message.Prepare(EncodingConstraint.SevenBit);
        return message;
    }

    private static MimeMessage Single(MimeEntity body)
    {
        var message = new MimeMessage { Subject = "size", MessageId = "size@example.com", Date = DateTimeOffset.UnixEpoch, Body = body };
        message.From.Add(MailboxAddress.Parse("app@example.com"));
        message.To.Add(MailboxAddress.Parse("to@example.com"));
        message.Prepare(EncodingConstraint.SevenBit);
        return message;
    }

    private static MimePart Attachment(int length, string name) => new("application", "octet-stream")
    {
        Content = new MimeContent(new MemoryStream(Enumerable.Range(0, length).Select(i => (byte)(i * 7)).ToArray())),
        ContentTransferEncoding = ContentEncoding.Base64,
        FileName = name,
    };

    private static async Task<long> WrittenSizeAsync(MimeMessage message, NewLineFormat format)
    {
        using var measure = new MeasuringStream();
        await message.WriteToAsync(Options(format), measure, Ct);
        return measure.Length;
    }

    private static async Task<byte[]> WrittenBytesAsync(MimeMessage message)
    {
        using var written = new MemoryStream();
        await message.WriteToAsync(Dos, written, Ct);
        return written.ToArray();
    }
}
