using Dapper;
using Npgsql;
using Outbox.Storage;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>
/// PostgreSQL roles belong to the cluster, so holding outbox_sender (or outbox_worker, or
/// outbox_reader) must not open every database's outbox: each database lets its own logins in
/// with USAGE on its schemas. Two outboxes in one real cluster, real login roles.
/// </summary>
public sealed class ClusterRolesTests(PostgresServer postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_login_let_into_one_databases_outbox_cannot_use_another_databases_with_the_same_role()
    {
        await using var shop = await TestOutbox.PostgresAsync(postgres);
        await using var billing = await TestOutbox.PostgresAsync(postgres);
        var app = await shop.LoginAsync("outbox_sender", "app");
        var worker = await shop.LoginAsync("outbox_worker", "worker");
        var reader = await shop.LoginAsync("outbox_reader", "reader");

        await using (var inShop = await OpenAsync(shop.As(app)))
        {
            Assert.True(await inShop.ExecuteScalarAsync<long>("select outbox_mail.send('shop@example.com', 'a@example.com', subject => 'Order 1')") > 0);
        }

        // The same logins, the same roles, the other database of the cluster.
        var sent = await RefusedAsync(billing.As(app), "select outbox_mail.send('shop@example.com', 'a@example.com', subject => 'Order 2')");
        Assert.Equal("permission denied for schema outbox_mail", sent);
        Assert.Equal("permission denied for schema outbox", await RefusedAsync(billing.As(worker), "select count(*) from outbox.outbox_message"));
        Assert.Equal("permission denied for schema outbox_mail", await RefusedAsync(billing.As(worker), "select outbox_mail.send('shop@example.com', 'a@example.com', subject => 'Order 3')"));
        Assert.Equal("permission denied for schema outbox", await RefusedAsync(billing.As(reader), "select subject from outbox.outbox_message"));
        Assert.Equal(0L, await billing.ScalarAsync<long>("select count(*) from outbox.outbox_message"));

        // In their own database each does its job.
        await using (var asWorker = await OpenAsync(shop.As(worker)))
        {
            Assert.Equal(1, await asWorker.ExecuteAsync("update outbox.outbox_message set priority = 2"));
            Assert.True(await asWorker.ExecuteScalarAsync<long>("select outbox_mail.send('ops@example.com', 'a@example.com', subject => 'From the CLI')") > 0);
        }

        await using (var asReader = await OpenAsync(shop.As(reader)))
        {
            Assert.Equal(2L, await asReader.ExecuteScalarAsync<long>("select count(*) from outbox.outbox_message"));
        }

        // The owner's check lists whom each database lets in: these three in one, nobody in the other.
        var listed = string.Join(", ", new[] { $"{app} (outbox_mail)", $"{worker} (outbox, outbox_mail)", $"{reader} (outbox)" }.Order(StringComparer.Ordinal));
        Assert.Contains($"this database lets in {listed}\n", (await CheckDbAsync(shop.ConnectionString)).Output, StringComparison.Ordinal);
        Assert.Contains("this database lets in no login but the owner", (await CheckDbAsync(billing.ConnectionString)).Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_install_whose_roles_held_the_schemas_is_flagged_and_init_hands_the_grant_to_their_logins()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        // The grants of an install before schema version 7, and logins made for it.
        await outbox.ExecuteAsync("grant usage on schema outbox_mail to outbox_sender; grant usage on schema outbox to outbox_worker, outbox_reader");
        var app = $"old_app_{Guid.NewGuid():N}"[..20];
        var service = $"old_svc_{Guid.NewGuid():N}"[..20];
        await outbox.ExecuteAsync($"create role {app} login; grant outbox_sender to {app}; create role {service} login; grant outbox_worker to {service}");

        var flagged = await CheckDbAsync(outbox.ConnectionString);
        Assert.Equal(Commands.ExitCodes.Configuration, flagged.Code);
        Assert.Contains("FAIL roles            outbox_sender itself may use schema outbox_mail, so a login granted it in any database of this cluster may too; outbox_worker itself may use schema outbox", flagged.Output, StringComparison.Ordinal);

        var notices = new List<string>();
        await new SchemaInstaller(outbox.Database).InstallAsync(TimeSpan.FromMinutes(1), notices.Add, Ct);

        const string Review = "revoke it if it belongs to another database";
        Assert.Contains($"{app} keeps usage on schema outbox_mail (it held outbox_sender; {Review})", notices);
        Assert.Contains($"{service} keeps usage on schema outbox (it held outbox_worker; {Review})", notices);
        Assert.Contains($"{service} keeps usage on schema outbox_mail (it held outbox_sender; {Review})", notices);
        Assert.Equal(0L, await outbox.ScalarAsync<long>("""
            select count(*) from pg_namespace n, aclexplode(n.nspacl) a
             where n.nspname in ('outbox', 'outbox_mail') and a.grantee in ('outbox_sender'::regrole, 'outbox_worker'::regrole, 'outbox_reader'::regrole)
            """));

        // The logins go on as before.
        await using (var asApp = await OpenAsync(outbox.As(app)))
        {
            Assert.True(await asApp.ExecuteScalarAsync<long>("select outbox_mail.send('shop@example.com', 'a@example.com', subject => 'After the upgrade')") > 0);
        }

        // Every login of the cluster holding a role got the grant (other tests' too): the check's
        // list may be cut, so the catalogue answers for these two.
        Assert.Equal([true, true, true], await outbox.QueryAsync<bool>(
            $"select has_schema_privilege('{app}', 'outbox_mail', 'USAGE') union all select has_schema_privilege('{service}', 'outbox', 'USAGE') union all select has_schema_privilege('{service}', 'outbox_mail', 'USAGE')"));
        var check = await CheckDbAsync(outbox.As(service));
        Assert.Equal(0, check.Code);
        Assert.Contains("ok   roles            outbox_sender, outbox_worker and outbox_reader exist with their grants; this database lets in ", check.Output, StringComparison.Ordinal);

        // Run again, nothing more to hand over.
        notices.Clear();
        await new SchemaInstaller(outbox.Database).InstallAsync(TimeSpan.FromMinutes(1), notices.Add, Ct);
        Assert.DoesNotContain(notices, n => n.Contains("keeps usage", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_worker_login_with_the_role_but_not_this_databases_grant_is_told_the_grant()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var login = $"bare_svc_{Guid.NewGuid():N}"[..20];
        await outbox.ExecuteAsync($"create role {login} login; grant outbox_worker to {login}");

        var (code, output) = await CheckDbAsync(outbox.As(login));

        Assert.Equal(1, code);
        var database = new NpgsqlConnectionStringBuilder(outbox.ConnectionString).Database;
        Assert.Matches("FAIL privileges +the configured user may not select on outbox_message", output);
        Assert.Contains($"User {login} may not use schema outbox in database {database}: grant usage on schema outbox, outbox_mail to {login} (see sql/README.md)", output, StringComparison.Ordinal);
    }

    private static async Task<NpgsqlConnection> OpenAsync(string connectionString)
    {
        var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        return connection;
    }

    private static async Task<string> RefusedAsync(string connectionString, string sql)
    {
        await using var connection = await OpenAsync(connectionString);
        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.ExecuteScalarAsync(sql));
        Assert.Equal("42501", error.SqlState);
        return error.MessageText;
    }

    private static async Task<(int Code, string Output)> CheckDbAsync(string connectionString)
    {
        var dir = Directory.CreateTempSubdirectory("outbox-roles-");
        try
        {
            var config = WorkerProcess.WriteConfig(dir.FullName, new { Database = new { Provider = "postgresql", ConnectionString = connectionString } });
            return await Cli.RunAsync(["check", "db", "--config", config]);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
