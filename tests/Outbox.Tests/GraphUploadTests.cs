using System.Security.Cryptography;
using Dapper;
using Npgsql;
using MimeKit;
using Outbox.Core.Dispatch;
using Outbox.Core.Messages;
using Outbox.Core.Sending;
using Outbox.Core.Sending.Graph;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// Mail past Graph's 4 MB request through a draft: the stand-in Graph takes the draft's MIME,
/// fileAttachments and upload sessions, checks the upload URL is used without the bearer token
/// and that the Content-Range chunks are contiguous, complete and in 320 KiB units, and sends
/// the draft as its MIME with the attachments added, which the tests compare byte for byte.
/// </summary>
public sealed class GraphUploadTests(PostgresServer postgres)
{
    private const string Mailbox = "outbox@contoso.com";
    private const int TenMegabytes = 10 * 1024 * 1024;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_mail_with_a_10_MB_attachment_goes_through_a_draft_and_an_upload_session_and_arrives_intact()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync(Mailbox, token => token == tokens.LastToken);
        await using var outbox = await TestOutbox.SqliteAsync();
        var id = await outbox.EnqueueAsync(new MailRequest
        {
            Sender = Mailbox,
            To = ["to@example.com"],
            Bcc = ["hidden@example.com"],
            Subject = "the big report",
            TextBody = "attached",
            Attachments = [new MailAttachment { FileName = "report.bin", Content = new PatternStream(TenMegabytes) }],
        });
        string? markSeen = null;
        graph.OnCreateDraft = async () => markSeen = await outbox.ScalarAsync<string?>("select data_started_at from outbox_message where id = @id", new { id });

        var summary = await outbox.Dispatcher(GraphTests.Transport(graph, tokens)).DispatchDueAsync(Ct);

        Assert.True(summary.Sent == 1, summary.PausedBecause ?? string.Join(" | ", graph.Log));
        Assert.False(string.IsNullOrEmpty(markSeen), "the draft reached Graph before the mail's mark was written");
        var mail = Assert.Single(graph.Received);
        var stored = await outbox.ScalarAsync<string>("select mime_message_id from outbox_message where id = @id", new { id });
        Assert.Equal(stored.Trim('<', '>'), mail.Message.MessageId);
        Assert.Equal("the big report", mail.Message.Subject);
        Assert.Equal(["hidden@example.com"], mail.Message.Bcc.Mailboxes.Select(m => m.Address));
        Assert.Equal("attached", mail.Message.TextBody?.Trim());
        var attachment = Assert.IsType<MimePart>(Assert.Single(mail.Message.Attachments));
        Assert.Equal("report.bin", attachment.FileName);
        Assert.Equal(PatternHash(TenMegabytes), await HashAsync(attachment));
        Assert.Equal(
            [
                $"POST /v1.0/users/{Mailbox}/messages 201",
                $"POST /v1.0/users/{Mailbox}/messages/{{id}}/attachments/createUploadSession 201",
                "200 bytes 0-3932159/10485760",
                "200 bytes 3932160-7864319/10485760",
                "201 bytes 7864320-10485759/10485760",
                $"POST /v1.0/users/{Mailbox}/messages/{{id}}/send 202",
            ],
            graph.Log.Select(Step));
        Assert.Equal(0, graph.DraftsLeft);
        Assert.DoesNotContain(graph.Log, line => line.Contains("/sendMail", StringComparison.Ordinal));
        var reply = await outbox.ScalarAsync<string>("select smtp_reply from outbox_message where id = @id", new { id });
        Assert.Equal($"202 Accepted (request-id {mail.RequestId})", reply);
    }

    [Fact]
    public async Task Small_attachments_go_as_file_attachments_and_the_large_one_through_an_upload_session()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync(Mailbox, token => token == tokens.LastToken);
        await using var outbox = await TestOutbox.SqliteAsync();
        var small = new Dictionary<string, int> { ["a.txt"] = 1_000, ["b.pdf"] = 300_000, ["logo.png"] = 20_000 };
        await outbox.EnqueueAsync(new MailRequest
        {
            Sender = Mailbox,
            To = ["to@example.com"],
            Subject = "several",
            TextBody = "text",
            HtmlBody = "<p>html <img src=\"cid:logo@x\"></p>",
            Attachments =
            [
                new MailAttachment { FileName = "a.txt", Content = new PatternStream(small["a.txt"]), MimeType = "text/plain" },
                new MailAttachment { FileName = "big.bin", Content = new PatternStream(5_000_000) },
                new MailAttachment { FileName = "b.pdf", Content = new PatternStream(small["b.pdf"]), MimeType = "application/pdf" },
                new MailAttachment { FileName = "logo.png", Content = new PatternStream(small["logo.png"]), MimeType = "image/png", ContentId = "logo@x", Inline = true },
            ],
        });

        var summary = await outbox.Dispatcher(GraphTests.Transport(graph, tokens)).DispatchDueAsync(Ct);

        Assert.True(summary.Sent == 1, summary.PausedBecause ?? string.Join(" | ", graph.Log));
        Assert.Equal(3, graph.Log.Count(line => line.EndsWith("/attachments 201", StringComparison.Ordinal)));
        Assert.Equal(1, graph.UploadSessions);
        var parts = Assert.Single(graph.Received).Message.BodyParts.OfType<MimePart>().Where(p => p.FileName is not null).ToDictionary(p => p.FileName!);
        Assert.Equal(["a.txt", "b.pdf", "big.bin", "logo.png"], parts.Keys.Order());
        foreach (var (name, size) in small.Append(new("big.bin", 5_000_000)))
        {
            Assert.Equal(PatternHash(size), await HashAsync(parts[name]));
        }

        Assert.Equal(("logo@x", "inline"), (parts["logo.png"].ContentId, parts["logo.png"].ContentDisposition!.Disposition));
        Assert.Equal("application/pdf", parts["b.pdf"].ContentType.MimeType);
        Assert.Equal(0, graph.DraftsLeft);
    }

    /// <summary>A mail the caller wrote (UTL_SMTP style) holds its attachment in base64 inside its text: it is decoded to its bytes for the upload, streamed from PostgreSQL.</summary>
    [Fact]
    public async Task A_utl_smtp_shaped_mail_with_a_5_MB_attachment_of_its_own_goes_through_an_upload_session_decoded()
    {
        const int size = 5_000_000;
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync(Mailbox, token => token == tokens.LastToken);
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var bytes = new byte[size];
        new PatternStream(size).ReadExactly(bytes);
        var base64 = Convert.ToBase64String(bytes, Base64FormattingOptions.InsertLineBreaks);
        await using (var connection = new NpgsqlConnection(outbox.ConnectionString))
        {
            await connection.OpenAsync(Ct);
            await using var tx = await connection.BeginTransactionAsync(Ct);
            var id = await connection.ExecuteScalarAsync<long>($"select outbox_mail.open_mail('{Mailbox}')", transaction: tx);
            await connection.ExecuteAsync("select outbox_mail.rcpt(@id, 'boss@example.com')", new { id }, tx);
            string[] head =
            [
                $"From: Reports <{Mailbox}>",
                "To: boss@example.com",
                "Subject: Monthly data",
                "MIME-Version: 1.0",
                "Content-Type: multipart/mixed; boundary=\"-----SECBOUND\"",
                "",
                "-------SECBOUND",
                "Content-Type: text/plain; charset=us-ascii",
                "",
                "See the attachment.",
                "-------SECBOUND",
                "Content-Type: application/octet-stream; name=\"data.bin\"",
                "Content-Transfer-Encoding: base64",
                "Content-Disposition: attachment; filename=\"data.bin\"",
                "",
                "",
            ];
            await connection.ExecuteAsync("select outbox_mail.write_data(@id, @text)", new { id, text = string.Join("\r\n", head) }, tx);
            for (var at = 0; at < base64.Length; at += 500_000)
            {
                await connection.ExecuteAsync("select outbox_mail.write_data(@id, @text)", new { id, text = base64.Substring(at, Math.Min(500_000, base64.Length - at)) }, tx);
            }

            await connection.ExecuteAsync("select outbox_mail.write_data(@id, @text)", new { id, text = "\r\n-------SECBOUND--\r\n" }, tx);
            await connection.ExecuteAsync("select outbox_mail.close_mail(@id)", new { id }, tx);
            await tx.CommitAsync(Ct);
        }

        var summary = await outbox.Dispatcher(GraphTests.Transport(graph, tokens)).DispatchDueAsync(Ct);

        Assert.True(summary.Sent == 1, summary.PausedBecause ?? string.Join(" | ", graph.Log));
        Assert.Equal((1, (long)size), (graph.UploadSessions, graph.UploadedBytes));
        var message = Assert.Single(graph.Received).Message;
        Assert.Equal("Monthly data", message.Subject);
        Assert.Equal(PatternHash(size), await HashAsync(Assert.IsType<MimePart>(Assert.Single(message.Attachments))));
    }

    [Fact]
    public async Task A_draft_whose_answer_passes_the_read_bound_still_gives_its_id()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync(Mailbox, token => token == tokens.LastToken);
        await using var outbox = await TestOutbox.SqliteAsync();
        var text = string.Concat(Enumerable.Repeat("a long report line\r\n", 10_000));
        await outbox.EnqueueAsync(new MailRequest
        {
            Sender = Mailbox, To = ["to@example.com"], Subject = "long", TextBody = text,
            Attachments = [new MailAttachment { FileName = "big.bin", Content = new PatternStream(TenMegabytes) }],
        });

        var summary = await outbox.Dispatcher(GraphTests.Transport(graph, tokens)).DispatchDueAsync(Ct);

        Assert.True(text.Length > GraphReply.MaxBodyBytes);
        Assert.True(summary.Sent == 1, summary.PausedBecause ?? string.Join(" | ", graph.Log));
        Assert.Equal(text.ReplaceLineEndings("\n"), Assert.Single(graph.Received).Message.TextBody?.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task A_draft_graph_forbids_is_a_configuration_error_naming_mail_readwrite_and_charges_nothing()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync(Mailbox, token => token == tokens.LastToken);
        await using var outbox = await TestOutbox.SqliteAsync();
        var id = await outbox.EnqueueAsync(Large("no drafts"));
        graph.RefuseDrafts = true;

        var summary = await outbox.Dispatcher(GraphTests.Transport(graph, tokens)).DispatchDueAsync(Ct);

        Assert.Equal(FailureKind.Configuration, summary.PausedFor);
        Assert.StartsWith($"Microsoft Graph does not let the app write drafts as {Mailbox} (HTTP 403 ErrorAccessDenied", summary.PausedBecause, StringComparison.Ordinal);
        Assert.Contains("Grant the app the application permission Mail.ReadWrite (Microsoft Graph)", summary.PausedBecause, StringComparison.Ordinal);
        var row = (await outbox.QueryAsync<(string Status, long Attempts)>("select status, attempt_count from outbox_message where id = @id", new { id })).Single();
        Assert.Equal(("queued", 0L), row);
        Assert.Equal(0, graph.UploadSessions);
    }

    [Fact]
    public async Task A_429_mid_upload_deletes_the_draft_waits_uncharged_as_graph_asks_and_the_mail_then_goes()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync(Mailbox, token => token == tokens.LastToken);
        await using var outbox = await TestOutbox.SqliteAsync();
        var id = await outbox.EnqueueAsync(Large("busy"));
        graph.OnPut(2, UploadFault.Throttle);
        var transport = GraphTests.Transport(graph, tokens);

        var first = await outbox.Dispatcher(transport).DispatchDueAsync(Ct);

        Assert.Equal(FailureKind.RateLimited, first.PausedFor);
        Assert.Equal(TimeSpan.FromSeconds(2), first.Pause);
        Assert.Contains("ApplicationThrottled", first.PausedBecause, StringComparison.Ordinal);
        var row = (await outbox.QueryAsync<(string Status, long Attempts, string? Mark)>("select status, attempt_count, data_started_at from outbox_message where id = @id", new { id })).Single();
        Assert.Equal(("queued", 0L, null), row);
        Assert.Equal((1, 0), (graph.DraftsDeleted, graph.DraftsLeft));
        Assert.Empty(graph.Received);

        await Task.Delay(first.Pause, Ct);
        var second = await outbox.Dispatcher(transport).DispatchDueAsync(Ct);

        Assert.Equal(1, second.Sent);
        var attachment = Assert.IsType<MimePart>(Assert.Single(Assert.Single(graph.Received).Message.Attachments));
        Assert.Equal(PatternHash(TenMegabytes), await HashAsync(attachment));
    }

    [Fact]
    public async Task A_connection_reset_after_send_leaves_the_mail_unconfirmed_under_hold()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync(Mailbox, token => token == tokens.LastToken);
        await using var outbox = await TestOutbox.SqliteAsync();
        var id = await outbox.EnqueueAsync(Large("lost"));
        graph.Then(GraphBehaviour.ResetAfterBody);

        var summary = await outbox.Dispatcher(GraphTests.Transport(graph, tokens, o => o.LostReplyPolicy = LostReplyPolicy.Hold)).DispatchDueAsync(Ct);

        Assert.Equal(1, summary.Unconfirmed);
        await outbox.AssertStatusAsync(id, "unconfirmed");
        var error = await outbox.ScalarAsync<string>("select last_error from outbox_message where id = @id", new { id });
        Assert.Contains("after the whole request was sent, before Graph's reply", error, StringComparison.Ordinal);
        Assert.Single(graph.Received);
        Assert.Equal(0, graph.DraftsDeleted);
    }

    [Fact]
    public async Task A_chunk_graph_refuses_fails_the_mail_with_graphs_error_and_deletes_its_draft_without_sending()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync(Mailbox, token => token == tokens.LastToken);
        await using var outbox = await TestOutbox.SqliteAsync();
        var id = await outbox.EnqueueAsync(Large("refused"));
        graph.OnPut(2, UploadFault.Refuse);

        var summary = await outbox.Dispatcher(GraphTests.Transport(graph, tokens)).DispatchDueAsync(Ct);

        Assert.Equal(1, summary.Failed);
        await outbox.AssertStatusAsync(id, "failed");
        var error = await outbox.ScalarAsync<string>("select last_error from outbox_message where id = @id", new { id });
        Assert.StartsWith("Microsoft Graph refused the mail (HTTP 400 ErrorInvalidRequest: The upload session refused the chunk", error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
        Assert.Equal((1, 0, 0), (graph.DraftsDeleted, graph.DraftsLeft, graph.SendRequests));
    }

    [Fact]
    public async Task A_draft_delete_graph_never_answers_holds_the_mails_outcome_up_for_5_seconds_at_most()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync(Mailbox, token => token == tokens.LastToken);
        await using var outbox = await TestOutbox.SqliteAsync();
        var id = await outbox.EnqueueAsync(Large("stuck"));
        graph.OnPut(1, UploadFault.Refuse);
        graph.SilentDeletes = true;
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var summary = await outbox.Dispatcher(GraphTests.Transport(graph, tokens, o => o.Timeout = TimeSpan.FromSeconds(60))).DispatchDueAsync(Ct);

        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30));
        Assert.Equal(1, summary.Failed);
        await outbox.AssertStatusAsync(id, "failed");
    }

    [Fact]
    public async Task A_connection_reset_during_upload_hands_the_mail_back_uncharged_and_deletes_its_draft()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync(Mailbox, token => token == tokens.LastToken);
        await using var outbox = await TestOutbox.SqliteAsync();
        var id = await outbox.EnqueueAsync(Large("cut"));
        graph.OnPut(2, UploadFault.Reset);

        var summary = await outbox.Dispatcher(GraphTests.Transport(graph, tokens)).DispatchDueAsync(Ct);

        Assert.Equal(FailureKind.ServerUnavailable, summary.PausedFor);
        Assert.Contains("nothing was sent", summary.PausedBecause, StringComparison.Ordinal);
        var row = (await outbox.QueryAsync<(string Status, long Attempts, string? Mark)>("select status, attempt_count, data_started_at from outbox_message where id = @id", new { id })).Single();
        Assert.Equal(("queued", 0L, null), row);
        Assert.Equal((1, 0, 0), (graph.DraftsDeleted, graph.DraftsLeft, graph.SendRequests));
    }

    [Fact]
    public async Task While_uploading_the_transport_holds_no_more_of_an_attachment_than_one_request_of_4_MiB()
    {
        const long bound = 4L * 1024 * 1024;
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync(Mailbox, token => token == tokens.LastToken);
        using var transport = GraphTests.Transport(graph, tokens);
        long mostAhead = 0;
        // Read from the attachment but not yet taken by Graph: what the transport holds of it.
        var source = new WatchedPatternStream(TenMegabytes, position =>
        {
            if (graph.UploadSessions > 0)
            {
                mostAhead = Math.Max(mostAhead, position - graph.UploadedBytes);
            }
        });
        var message = new MimeMessage { Subject = "watched" };
        message.From.Add(MailboxAddress.Parse(Mailbox));
        message.To.Add(MailboxAddress.Parse("to@example.com"));
        message.Body = new Multipart("mixed")
        {
            new TextPart("plain") { Text = "x" },
            new MimePart("application", "octet-stream") { Content = new MimeContent(source), FileName = "watched.bin", ContentTransferEncoding = ContentEncoding.Base64 },
        };
        await using var outgoing = new OutgoingMessage(message, MailboxAddress.Parse(Mailbox), [MailboxAddress.Parse("to@example.com")], []);
        await using var session = await transport.OpenAsync(Ct);

        var result = await session.SendAsync(outgoing, Ct);

        Assert.Equal(202, result.SmtpCode);
        Assert.Equal(TenMegabytes, graph.UploadedBytes);
        Assert.True(mostAhead is > 0 and <= bound, $"the transport held {mostAhead:N0} bytes of the attachment that Graph had not taken (bound {bound:N0})");
    }

    [Fact]
    public async Task An_attachment_over_150_MB_fails_with_one_line_naming_the_limit_before_anything_reaches_graph()
    {
        await using var tokens = await TestTokenServer.StartAsync();
        await using var graph = await TestGraphServer.StartAsync(Mailbox, token => token == tokens.LastToken);
        using var transport = GraphTests.Transport(graph, tokens);
        var message = new MimeMessage { Subject = "huge" };
        message.From.Add(MailboxAddress.Parse(Mailbox));
        message.To.Add(MailboxAddress.Parse("to@example.com"));
        message.Body = new Multipart("mixed")
        {
            new TextPart("plain") { Text = "x" },
            new MimePart("application", "octet-stream") { Content = new MimeContent(new WatchedPatternStream(150L * 1024 * 1024 + 1, _ => { })), FileName = "huge.bin", ContentTransferEncoding = ContentEncoding.Base64 },
        };
        await using var outgoing = new OutgoingMessage(message, MailboxAddress.Parse(Mailbox), [MailboxAddress.Parse("to@example.com")], []);
        await using var session = await transport.OpenAsync(Ct);

        var error = await Assert.ThrowsAsync<MessageTooLargeException>(() => session.SendAsync(outgoing, Ct));

        Assert.Equal("attachment \"huge.bin\" is 157,286,401 bytes; Microsoft Graph takes attachments of at most 157,286,400 bytes (150 MB); nothing was sent. Send it as a link, or this mail through an SMTP account", error.Message);
        Assert.Empty(graph.Log);
        Assert.Equal(2, message.BodyParts.Count());
    }

    [Fact]
    public async Task Reading_an_error_body_that_never_ends_stops_at_the_bound()
    {
        var endless = new WatchedPatternStream(long.MaxValue, position =>
        {
            Assert.True(position <= 1024 * 1024, "the error body was read past 1 MB");
        });
        using var response = new HttpResponseMessage(System.Net.HttpStatusCode.BadRequest) { Content = new StreamContent(endless) };

        var body = await GraphReply.ReadBoundedAsync(response.Content, Ct);
        var reply = await GraphReply.ReadAsync(response, Core.Secrets.SecretScrubber.None, Ct);

        Assert.Equal(GraphReply.MaxBodyBytes, body.Length);
        Assert.True(endless.Position <= 2 * GraphReply.MaxBodyBytes + 16 * 1024, $"read {endless.Position:N0} bytes of a body bounded at {GraphReply.MaxBodyBytes:N0}");
        Assert.Equal("HTTP 400", reply.Describe);
    }

    private static MailRequest Large(string subject) => new()
    {
        Sender = Mailbox,
        To = ["to@example.com"],
        Subject = subject,
        TextBody = "x",
        Attachments = [new MailAttachment { FileName = "big.bin", Content = new PatternStream(TenMegabytes) }],
    };

    // "METHOD path status" with the draft's id as {id}, or "status range" for a chunk.
    private static string Step(string line) =>
        line.StartsWith("PUT ", StringComparison.Ordinal)
            ? string.Join(' ', line.Split(' ')[2..])
            : System.Text.RegularExpressions.Regex.Replace(line, "/messages/[^/ ]+", "/messages/{id}");

    private static byte[] PatternHash(long length)
    {
        using var sha = SHA256.Create();
        return sha.ComputeHash(new PatternStream(length));
    }

    private static async Task<byte[]> HashAsync(MimePart part)
    {
        using var decoded = new MemoryStream();
        await part.Content!.DecodeToAsync(decoded, Ct);
        return SHA256.HashData(decoded.ToArray());
    }

    /// <summary>A seekable stream of PatternStream's bytes that reports its position after each read.</summary>
    private sealed class WatchedPatternStream(long length, Action<long> afterRead) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position
        {
            get => _position;
            set => _position = value;
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, length - _position);
            for (var i = 0; i < n; i++)
            {
                buffer[offset + i] = PatternStream.ByteAt(_position + i);
            }

            _position += n;
            afterRead(_position);
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) => _position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => length + offset,
        };

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
