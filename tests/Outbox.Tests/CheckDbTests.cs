using System.Text.Json;
using Npgsql;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests;

/// <summary>`outbox check db` against real databases in each state an operator meets.</summary>
public sealed class CheckDbTests(PostgresServer postgres) : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("outbox-checkdb-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public async Task An_installed_database_is_reported_step_by_step_with_the_queue()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await outbox.ExecuteAsync("select outbox_mail.send('a@example.com', 'b@example.com')");

        var (code, output) = await CheckAsync("postgresql", outbox.ConnectionString);
        var json = JsonDocument.Parse((await CheckAsync("postgresql", outbox.ConnectionString, "--json")).Output).RootElement;

        Assert.Equal(0, code);
        Assert.Matches(@"ok   connect +postgresql 1\d", output);
        Assert.Contains($"ok   schema           installed, version {Outbox.Storage.Admin.DatabaseCheck.ExpectedSchemaVersion}", output, StringComparison.Ordinal);
        Assert.Contains("may select, insert, update and delete in every outbox table", output, StringComparison.Ordinal);
        Assert.Contains("ok   queue            queued 1; oldest waiting mail", output, StringComparison.Ordinal);
        Assert.Contains("verdict: the worker can use this database", output, StringComparison.Ordinal);
        Assert.True(json.GetProperty("ok").GetBoolean());
        Assert.Equal(6, json.GetProperty("steps").GetArrayLength());
        Assert.Matches("ok   identity +PostgreSQL system [0-9]+, database oid [0-9]+, as recorded", output);
        Assert.Contains("ok   roles            outbox_sender, outbox_worker and outbox_reader exist with their grants", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_user_with_read_rights_only_is_told_which_rights_are_missing_and_nothing_changes()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await outbox.ExecuteAsync("select outbox_mail.send('a@example.com', 'b@example.com')");
        var reader = outbox.As(await outbox.LoginAsync("outbox_reader", "reader"));

        var (code, output) = await CheckAsync("postgresql", reader);

        Assert.Equal(1, code);
        Assert.Contains("FAIL privileges", output, StringComparison.Ordinal);
        Assert.Contains("may not insert on outbox_message; update on outbox_message; delete on outbox_message", output, StringComparison.Ordinal);
        Assert.DoesNotContain("select on", output, StringComparison.Ordinal);
        Assert.Contains("Grant it the worker role (outbox_worker", output, StringComparison.Ordinal);
        Assert.Equal(1L, await outbox.ScalarAsync<long>("select count(*) from outbox.outbox_message"));
    }

    [Fact]
    public async Task A_database_without_the_schema_says_how_to_install_it()
    {
        var empty = await postgres.CreateDatabaseAsync(install: false);

        var (code, output) = await CheckAsync("postgresql", empty);

        Assert.Equal(Commands.ExitCodes.Configuration, code);
        Assert.Contains("FAIL schema           missing outbox_message, outbox_recipient", output, StringComparison.Ordinal);
        Assert.Contains("run `outbox init`, or have a DBA run the scripts in sql/postgresql/", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_schema_of_another_version_is_named()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        await outbox.ExecuteAsync("update outbox.outbox_setting set value = '0' where name = 'schema_version'");

        var (code, output) = await CheckAsync("postgresql", outbox.ConnectionString);

        Assert.Equal(Commands.ExitCodes.Configuration, code);
        Assert.Contains($"FAIL schema           version 0, but this outbox expects {Outbox.Storage.Admin.DatabaseCheck.ExpectedSchemaVersion}", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_server_names_the_connection_string()
    {
        var (code, output) = await CheckAsync("postgresql", $"Host=127.0.0.1;Port={LoopbackPort.Free()};Username=x;Password=y;Timeout=3");

        Assert.Equal(1, code);
        Assert.Contains("FAIL connect", output, StringComparison.Ordinal);
        Assert.Contains("Check Outbox:Database:ConnectionString", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Password=y", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_new_sqlite_file_is_installed_and_reported_like_any_other()
    {
        var (code, output) = await CheckAsync("sqlite", $"Data Source={Path.Combine(_dir.FullName, "new.db")}");

        Assert.Equal(0, code);
        Assert.Contains($"ok   schema           installed, version {Outbox.Storage.Admin.DatabaseCheck.ExpectedSchemaVersion}", output, StringComparison.Ordinal);
        Assert.Contains("ok   queue            empty; no mail waiting", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_sender_only_role_sees_the_schema_installed_and_is_told_it_lacks_the_worker_role()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var login = await outbox.LoginAsync("outbox_sender", "sender");
        var sender = outbox.As(login);

        var (code, output) = await CheckAsync("postgresql", sender);

        Assert.Equal(1, code);
        Assert.DoesNotContain("missing", output, StringComparison.Ordinal);
        Assert.Contains("FAIL schema           installed, but the configured user may not read outbox_setting", output, StringComparison.Ordinal);
        Assert.Contains($"FAIL privileges", output, StringComparison.Ordinal);
        // Its role may be right for this outbox, yet the database lets in only its own logins.
        Assert.Contains($"User {login} may not use schema outbox in database {new NpgsqlConnectionStringBuilder(outbox.ConnectionString).Database}: grant outbox_worker to {login}; grant usage on schema outbox, outbox_mail to {login} (see sql/README.md)", output, StringComparison.Ordinal);
        Assert.Contains("FAIL queue            the configured user may not read the queue", output, StringComparison.Ordinal);
        Assert.Contains("verdict:", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Init_as_the_worker_role_verifies_an_installed_schema_without_running_the_scripts()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);
        var login = await outbox.LoginAsync("outbox_worker", "worker");
        var worker = outbox.As(login);

        var (code, output, error) = await InitAsync(worker);
        Assert.Equal((0, string.Empty), (code, error));
        Assert.Equal($"Outbox schema outbox verified; not installed or upgraded, because {login} does not own it (run outbox init as its owner for that).", output.Trim());

        await outbox.ExecuteAsync("update outbox.outbox_setting set value = '1' where name = 'schema_version'");
        var old = await InitAsync(worker);
        Assert.Equal(Commands.ExitCodes.Configuration, old.Code);
        Assert.Equal($"outbox: schema outbox is version 1, but this release needs {Storage.Admin.DatabaseCheck.ExpectedSchemaVersion}; {login} does not own it, so run outbox init connected as its owner", old.Error.Trim());
    }

    [Fact]
    public async Task Init_by_a_user_who_may_not_create_the_schema_is_one_line_naming_the_connection_string()
    {
        var empty = await postgres.CreateDatabaseAsync(install: false);
        await using (var connection = new NpgsqlConnection(empty))
        {
            await connection.OpenAsync(Ct);
            await using var create = new NpgsqlCommand(
                "do $$ begin if not exists (select from pg_roles where rolname = 'outbox_test_nobody') then create role outbox_test_nobody nologin; end if; end $$",
                connection);
            await create.ExecuteNonQueryAsync(Ct);
        }

        var (code, output, error) = await InitAsync(As(empty, "outbox_test_nobody"));

        Assert.Equal(Commands.ExitCodes.Configuration, code);
        Assert.Empty(output);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("outbox: Outbox:Database:ConnectionString: user outbox_test_nobody cannot install the outbox: it may not create schemas in database outbox_", line, StringComparison.Ordinal);
        Assert.Contains("(missing: outbox, outbox_mail)", line, StringComparison.Ordinal);
        Assert.Contains("nothing was changed. Run outbox init as a user that may (a superuser, or the database's owner with CREATEROLE)", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Init_as_the_databases_owner_without_createrole_changes_nothing_and_check_db_fails_until_the_roles_exist()
    {
        // Roles are the cluster's: only a cluster of its own starts without the outbox roles.
        await using var cluster = await PostgresServer.StartPrivateAsync();
        var admin = await cluster.CreateDatabaseAsync(install: false);
        await ExecuteAsync(admin, "create role app_owner login");
        await ExecuteAsync(admin, "create database owned_db owner app_owner");
        var owner = new NpgsqlConnectionStringBuilder(admin) { Database = "owned_db", Username = "app_owner", Pooling = false }.ConnectionString;

        var (code, output, error) = await InitAsync(owner);

        Assert.Equal(Commands.ExitCodes.Configuration, code);
        Assert.Empty(output);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("outbox: Outbox:Database:ConnectionString: user app_owner cannot install the outbox: it may not create roles (no CREATEROLE), and outbox_sender, outbox_worker, outbox_reader do not exist; nothing was changed.", line, StringComparison.Ordinal);
        Assert.Equal(0L, await ScalarAsync(owner, "select count(*) from pg_namespace where nspname in ('outbox', 'outbox_mail')"));
        Assert.Equal(Commands.ExitCodes.Configuration, (await CheckAsync("postgresql", owner)).Code);

        // A superuser makes the roles; still the owner may not make outbox_worker a sender.
        foreach (var role in new[] { "outbox_sender", "outbox_worker", "outbox_reader" })
        {
            await ExecuteAsync(admin, $"create role {role} nologin");
        }

        var membership = await InitAsync(owner);
        Assert.Equal(Commands.ExitCodes.Configuration, membership.Code);
        Assert.Contains("it may not grant outbox_sender to outbox_worker (no CREATEROLE, no ADMIN OPTION on outbox_sender); nothing was changed.", membership.Error, StringComparison.Ordinal);
        Assert.Equal(0L, await ScalarAsync(owner, "select count(*) from pg_namespace where nspname in ('outbox', 'outbox_mail')"));

        // Once the superuser grants that too, the owner installs; then grants go missing.
        await ExecuteAsync(admin, "grant outbox_sender to outbox_worker");
        var first = await InitAsync(owner);
        Assert.Equal((0, string.Empty), (first.Code, first.Error));
        var installed = await CheckAsync("postgresql", owner);
        Assert.Equal(0, installed.Code);
        Assert.Contains("ok   roles", installed.Output, StringComparison.Ordinal);

        await ExecuteAsync(admin, "revoke outbox_sender from outbox_worker");
        await ExecuteAsync(owner, "revoke delete on outbox.outbox_attempt from outbox_worker");
        await ExecuteAsync(owner, "revoke execute on function outbox_mail.enqueue(bigint) from outbox_sender");
        var (lacking, report) = await CheckAsync("postgresql", owner);
        Assert.Equal(Commands.ExitCodes.Configuration, lacking);
        Assert.Contains("FAIL roles            outbox_worker is not a member of outbox_sender; outbox_worker may not delete on outbox_attempt; outbox_sender may not execute enqueue: run outbox init as the owner", report, StringComparison.Ordinal);
        Assert.Contains("verdict: the worker cannot use this database: outbox_worker is not a member", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Init_as_a_sender_only_role_is_one_line_naming_the_role_it_lacks_and_exit_3()
    {
        await using var outbox = await TestOutbox.PostgresAsync(postgres);

        var login = await outbox.LoginAsync("outbox_sender", "sender");
        var (code, output, error) = await InitAsync(outbox.As(login));

        Assert.Equal(Commands.ExitCodes.Configuration, code);
        Assert.Empty(output);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith($"outbox: Outbox:Database:ConnectionString: user {login} may not read the outbox's tables (42501: permission denied for schema outbox), so init cannot verify schema outbox.", line, StringComparison.Ordinal);
        Assert.EndsWith($"grant outbox_worker to {login} and grant usage on schema outbox, outbox_mail to {login}", line, StringComparison.Ordinal);
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Ct);
    }

    private static async Task<long> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        return (long)(await command.ExecuteScalarAsync(Ct))!;
    }

    private static string As(string connectionString, string role) =>
        new NpgsqlConnectionStringBuilder(connectionString) { Options = $"-c role={role}", Pooling = false }.ConnectionString;

    private async Task<(int Code, string Output, string Error)> InitAsync(string connectionString)
    {
        var config = WorkerProcess.WriteConfig(_dir.FullName, new { Database = new { Provider = "postgresql", ConnectionString = connectionString } });
        return await Cli.RunApartAsync("init", "--config", config);
    }

    private async Task<(int Code, string Output)> CheckAsync(string provider, string connectionString, params string[] arguments)
    {
        var config = WorkerProcess.WriteConfig(_dir.FullName, new { Database = new { Provider = provider, ConnectionString = connectionString } });
        return await Cli.RunAsync(["check", "db", "--config", config, .. arguments]);
    }
}
