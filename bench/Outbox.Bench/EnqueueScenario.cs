using System.Diagnostics;

namespace Outbox.Bench;

/// <summary>outbox_mail.send called from PL/pgSQL, against plain INSERTs of the same rows.</summary>
public static class EnqueueScenario
{
    public static async Task RunAsync(BenchOptions options, Report report)
    {
        Console.WriteLine("enqueue rate ...");
        await using var database = await BenchDatabase.CreateAsync(options, "bench_enqueue");
        var count = options.Quick ? 5000 : 20000;
        var send = new List<double>();
        var insert = new List<double>();
        for (var run = 0; run < options.Runs; run++)
        {
            send.Add(await RateAsync(database, count, """
                do $$ begin
                    for i in 1..@count loop
                        perform outbox_mail.send('bench@example.com', 'sink@example.com', subject => 'enqueue', message => 'a short body');
                    end loop;
                end $$
                """));
            insert.Add(await RateAsync(database, count, """
                do $$ declare new_id bigint; begin
                    for i in 1..@count loop
                        insert into outbox.outbox_message (status, kind, sender, subject, text_body, mime_message_id, queued_at, due_at)
                        values ('queued', 'mime', 'bench@example.com', 'enqueue', 'a short body', '<' || gen_random_uuid() || '@example.com>', now(), now())
                        returning id into new_id;
                        insert into outbox.outbox_recipient (message_id, kind, address) values (new_id, 'to', 'sink@example.com');
                    end loop;
                end $$
                """));
        }

        report.Add("enqueue", $"outbox_mail.send from PL/pgSQL, {count:N0} in one transaction", send, "mail/s",
            $"{Report.Median(send) / Report.Median(insert):0.00}× plain INSERTs ({Report.Format(Report.Median(insert))} mail/s)");
    }

    private static async Task<double> RateAsync(Outbox.Storage.OutboxDatabase database, int count, string block)
    {
        await BenchDatabase.ExecuteAsync(database, "truncate outbox.outbox_message cascade");
        var clock = Stopwatch.StartNew();
        // A DO block takes no parameters: the count is written into it.
        await BenchDatabase.ExecuteAsync(database, block.Replace("@count", count.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
        return count / clock.Elapsed.TotalSeconds;
    }
}
