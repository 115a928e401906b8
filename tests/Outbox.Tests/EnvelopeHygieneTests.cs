using Outbox.Core.Messages;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// What goes on the wire is what SMTP allows: no non-ASCII local part to a server without
/// SMTPUTF8, no control character in a header, the caller's header block terminated before the
/// worker adds to it. A mail that breaks a rule fails alone, with the reason; the next one goes.
/// </summary>
public sealed class EnvelopeHygieneTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_non_ascii_local_part_fails_that_mail_when_the_server_lacks_smtputf8()
    {
        await using var server = ScriptedSmtpServer.Start();
        await using var outbox = await TestOutbox.SqliteAsync();
        var utf8 = await outbox.EnqueueAsync(new MailRequest { Sender = "app@example.com", To = ["üser@example.com"], Subject = "s", TextBody = "b" });
        var ascii = await outbox.EnqueueAsync(new MailRequest { Sender = "app@example.com", To = ["user@bücher.example"], Subject = "s", TextBody = "b" });

        var summary = await outbox.SmtpDispatcher(server.Options()).DispatchDueAsync(Ct);

        Assert.Equal((1, 1), (summary.Sent, summary.Failed));
        await outbox.AssertStatusAsync(utf8, "failed");
        var error = await outbox.ScalarAsync<string>("select last_error from outbox_message where id = @utf8", new { utf8 });
        Assert.Contains("the server does not offer SMTPUTF8, so it cannot take the address üser@example.com", error, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Commands, c => c.Contains("üser", StringComparison.Ordinal) || c.Contains("Ã¼ser", StringComparison.Ordinal));
        // A non-ASCII domain has an ASCII form, and goes out in it.
        Assert.Equal(["user@xn--bcher-kva.example"], Assert.Single(server.Received).To);
        await outbox.AssertStatusAsync(ascii, "sent");
    }

    [Theory]
    [InlineData("\\x5375626a6563743a20610062", "holds the control character U+0000, which no header may hold")]
    [InlineData("\\x5375626a6563743a20611b5d303b70776e656407", "holds the control character U+001B, which no header may hold")]
    [InlineData("\\x582d4e756c00206e616d653a2078", "the mail cannot be built")]
    public async Task A_control_character_in_a_raw_header_never_reaches_the_server(string header, string reason)
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var server = ScriptedSmtpServer.Start();
        var bad = await RawMailAsync(outbox, $"'{header}'::bytea", "'\\x0d0a0d0a626f64790d0a'::bytea");
        var good = await RawMailAsync(outbox, "convert_to(E'Subject: fine\\r\\n\\r\\nbody\\r\\n', 'UTF8')");

        var summary = await outbox.SmtpDispatcher(server.Options()).DispatchDueAsync(Ct);

        Assert.Equal((1, 1), (summary.Sent, summary.Failed));
        await outbox.AssertStatusAsync(bad, "failed");
        var error = await outbox.ScalarAsync<string>("select last_error from outbox.outbox_message where id = @bad", new { bad });
        Assert.Contains(reason, error, StringComparison.Ordinal);
        Assert.Contains("Subject: fine", Assert.Single(server.Received).Data, StringComparison.Ordinal);
        await outbox.AssertStatusAsync(good, "sent");
    }

    [Theory]
    [InlineData("Subject: headers only\\r\\nFrom: app@example.com", "From: app@example.com\r\n")]
    [InlineData("Subject: no line break at the end\\r\\n\\r\\nthe body", "the body\r\n")]
    public async Task Raw_text_that_does_not_end_with_a_line_break_gets_its_headers_terminated_first(string text, string intact)
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await using var server = ScriptedSmtpServer.Start();
        var id = await RawMailAsync(outbox, $"convert_to(E'{text}', 'UTF8')");

        await outbox.SmtpDispatcher(server.Options()).DispatchDueAsync(Ct);

        await outbox.AssertStatusAsync(id, "sent");
        var data = Assert.Single(server.Received).Data;
        Assert.Contains(intact, data, StringComparison.Ordinal);
        var headers = data[..data.IndexOf("\r\n\r\n", StringComparison.Ordinal)].Split("\r\n");
        Assert.Contains(headers, h => h.StartsWith("Date: ", StringComparison.Ordinal));
        Assert.Contains(headers, h => h.StartsWith("Message-ID: ", StringComparison.OrdinalIgnoreCase));
        Assert.All(headers, h => Assert.True(h.IndexOf("Date:", StringComparison.Ordinal) <= 0, $"a header glued to another: {h}"));
    }

    private static async Task<long> RawMailAsync(TestOutbox outbox, params string[] parts)
    {
        var id = await outbox.ScalarAsync<long>("select outbox_mail.open_mail('app@example.com')");
        await outbox.ExecuteAsync("select outbox_mail.rcpt(@id, 'to@example.com')", new { id });
        foreach (var part in parts)
        {
            await outbox.ExecuteAsync($"select outbox_mail.write_raw_data(@id, {part})", new { id });
        }

        await outbox.ExecuteAsync("select outbox_mail.close_mail(@id)", new { id });
        return id;
    }
}
