using System.Data.Common;
using Dapper;
using Microsoft.Extensions.Logging.Abstractions;
using Outbox.Configuration;
using Outbox.Core.Dispatch;
using Outbox.Core.Messages;
using Outbox.Core.Sending.Accounts;
using Outbox.Storage;
using Outbox.Storage.Admin;
using Outbox.Storage.Dialects;
using Outbox.Tests.Infrastructure;
using Outbox.Worker;

namespace Outbox.Tests.Oracle;

/// <summary>
/// The deployment production has, on a live Oracle database: the owner installs; an application
/// user with OUTBOX_SENDER enqueues through the UTL_MAIL synonym; another with OUTBOX_SENDER
/// enqueues with OutboxClient; a worker user with OUTBOX_WORKER and Outbox:Database:Schema sends
/// with a rate limit. Needs OUTBOX_TEST_ORACLE (the owner) and OUTBOX_TEST_ORACLE_DBA (a user that
/// may create users, e.g. SYSTEM, to make the other three); skipped otherwise (see OracleTestDatabase).
/// </summary>
[Collection("Oracle schema")]
public sealed class OracleDeploymentTests
{
    private const string DbaVariable = "OUTBOX_TEST_ORACLE_DBA";
    private const string Password = "Outbox_it_1";
    private const string Worker = "OUTBOX_IT_WORKER";
    private const string App = "OUTBOX_IT_APP";
    private const string DotNet = "OUTBOX_IT_NET";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Owner_installs_users_with_roles_enqueue_and_a_worker_user_sends_with_a_rate_limit()
    {
        var (outbox, owner) = await DeployAsync();
        await using var _ = outbox;
        await using var smtp = TestSmtpServer.Start();

        // UTL_MAIL code unchanged behind the synonym: a NULL attachment and a handler of
        // UTL_MAIL's exception compile; NULL priority is the default.
        await using (var app = await OpenAsAsync(outbox, App))
        {
            await app.ExecuteAsync(SynonymScript(owner));
            await app.ExecuteAsync("""
                create or replace procedure outbox_it_null_attachment as
                begin
                    utl_mail.send_attach_raw(sender => 'app@example.com', recipients => 'b@example.com', attachment => null);
                exception
                    when utl_mail.invalid_argument then
                        raise;
                end;
                """);
            Assert.Equal("VALID", await app.ExecuteScalarAsync<string>("select status from user_objects where object_name = 'OUTBOX_IT_NULL_ATTACHMENT'"));
            var error = await Assert.ThrowsAnyAsync<DbException>(() => app.ExecuteAsync("begin outbox_it_null_attachment; end;"));
            Assert.StartsWith("ORA-20001: attachment: is required", error.Message, StringComparison.Ordinal);
            await app.ExecuteAsync("begin utl_mail.send(sender => 'app@example.com', recipients => 'a@example.com', subject => 'from PL/SQL', message => 'x', priority => null); commit; end;");
        }

        await using (var dotNet = await OpenAsAsync(outbox, DotNet))
        {
            await OutboxClient.For(dotNet, owner).EnqueueAsync(dotNet, null,
                new MailRequest { Sender = "net@example.com", To = ["n@example.com"], Subject = "from .NET", TextBody = "x" }, Ct);
        }

        await using var worker = OutboxDatabase.Create(new DatabaseOptions { Provider = "oracle", ConnectionString = ConnectionStringOf(outbox, Worker), Schema = owner });
        var (steps, usable, _) = await new DatabaseCheck(worker).RunAsync(Ct);
        Assert.True(usable, string.Join("\n", steps.Select(s => $"{s.Step}: {s.Detail}")));
        Assert.Equal(Worker, await new SchemaInstaller(worker).OtherOwnerAsync(Ct));

        var options = new OutboxOptions { Transport = "smtp" };
        options.Accounts["primary"] = TestOutbox.SmtpFor(smtp);
        options.Accounts["primary"].RateLimits.Add(new RateLimit { Messages = 10, Per = TimeSpan.FromMinutes(1) });
        var transport = OutboxRuntime.CreateRoutedTransport(options, new DatabaseRateLimiter(worker, "test-worker"), NullLoggerFactory.Instance);
        var dispatcher = new Dispatcher(new OutboxStore(worker, "worker-user"), transport, TestOutbox.FastRetries(), TimeProvider.System, NullLogger<Dispatcher>.Instance);
        var summary = await dispatcher.DispatchDueAsync(Ct);

        Assert.Equal(2, summary.Sent);
        Assert.Equal(["from .NET", "from PL/SQL"], smtp.Received.Select(m => MimeKit.MimeMessage.Load(new MemoryStream(m.Data), Ct).Subject).Order());
        Assert.Equal(2L, await outbox.ScalarAsync<long>("select count(*) from outbox_rate_slot"));
        Assert.Equal([App, DotNet], await outbox.QueryAsync<string>("select created_by from outbox_message order by created_by"));
    }

    [Fact]
    public async Task Running_the_scripts_again_does_not_fail_the_next_call_of_a_pooled_session()
    {
        var (outbox, owner) = await DeployAsync();
        await using var _ = outbox;
        const string Send = "begin utl_mail.send(sender => 'app@example.com', recipients => 'a@example.com', subject => 'pooled'); end;";
        const string Session = "select sys_context('userenv', 'sid') from dual";
        string sid;
        await using (var app = await OpenAsAsync(outbox, App))
        {
            await app.ExecuteAsync(SynonymScript(owner));
            await app.ExecuteAsync(Send);
            sid = await app.ExecuteScalarAsync<string>(Session) ?? string.Empty;
        }

        await new SchemaInstaller(outbox.Database).InstallAsync(Ct);
        // CREATE OR REPLACE of an unchanged text may keep the compiled package; a new release's
        // scripts do replace it, as this does.
        await outbox.ExecuteAsync("alter package outbox_mail compile");

        await using var again = await OpenAsAsync(outbox, App);
        Assert.Equal(sid, await again.ExecuteScalarAsync<string>(Session));
        Assert.NotNull(await again.ExecuteScalarAsync<long?>($"select {owner}.outbox_mail.last_mail_id from dual"));
        await again.ExecuteAsync(Send);
    }

    [Fact]
    public async Task Uninstall_leaves_no_object_and_no_role_behind()
    {
        var (outbox, _) = await DeployAsync();
        await using var __ = outbox;
        await using (var connection = await outbox.OpenAsync())
        {
            foreach (var statement in SqlPlusScript.Split(SchemaInstaller.ReadScript("sql/oracle/uninstall.sql")))
            {
                await connection.ExecuteAsync(statement);
            }

            Assert.Empty(await connection.QueryAsync<string>("select object_type || ' ' || object_name from user_objects where object_name like 'OUTBOX%'"));
        }

        await using var dba = await OpenDbaAsync();
        Assert.Empty(await dba.QueryAsync<string>("select role from dba_roles where role like 'OUTBOX\\_%' escape '\\'"));
    }

    // The owner's install (by OracleTestDatabase), the three users (made once: dropping a user
    // that pooled sessions still hold fails) and their roles, as grant_to_user.sql gives them.
    private static async Task<(TestOutbox Outbox, string Owner)> DeployAsync()
    {
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(DbaVariable)))
        {
            OracleTestDatabase.SkipSaying($"Oracle deployment test: needs {DbaVariable} (a connection string of a user that may create users, e.g. SYSTEM) "
                + $"besides {OracleTestDatabase.Variable} and the Oracle driver; {DbaVariable} is not set.");
        }

        var outbox = await OracleTestDatabase.RequireAsync();
        var owner = await outbox.ScalarAsync<string>("select user from dual");
        await using (var dba = await OpenDbaAsync())
        {
            foreach (var user in new[] { Worker, App, DotNet })
            {
                await dba.ExecuteAsync($"begin execute immediate 'create user {user} identified by \"{Password}\"'; exception when others then if sqlcode <> -1920 then raise; end if; end;");
                await dba.ExecuteAsync($"grant create session to {user}");
            }

            await dba.ExecuteAsync($"grant create procedure, create synonym to {App}");
        }

        await outbox.ExecuteAsync("delete from outbox_rate_slot");
        await outbox.ExecuteAsync($"grant outbox_worker to {Worker}");
        // OutboxClient calls OUTBOX_MAIL from anonymous blocks, where the role counts.
        await outbox.ExecuteAsync($"grant outbox_sender to {DotNet}");
        await outbox.ExecuteAsync($"grant outbox_sender to {App}");
        await outbox.ExecuteAsync($"grant execute on outbox_mail to {App}");
        return (outbox, owner);
    }

    // utl_mail_synonym.sql as SQL*Plus runs it with the owner as its argument.
    private static string SynonymScript(string owner) =>
        Assert.Single(SqlPlusScript.Split(SchemaInstaller.ReadScript("sql/oracle/utl_mail_synonym.sql").Replace("&outbox_owner..", owner + ".", StringComparison.Ordinal)));

    private static string ConnectionStringOf(TestOutbox outbox, string user)
    {
        var builder = new DbConnectionStringBuilder { ConnectionString = outbox.ConnectionString };
        builder["User Id"] = user;
        builder["Password"] = Password;
        return builder.ConnectionString;
    }

    private static Task<DbConnection> OpenAsAsync(TestOutbox outbox, string user) => OpenAsync(ConnectionStringOf(outbox, user));

    private static Task<DbConnection> OpenDbaAsync() => OpenAsync(Environment.GetEnvironmentVariable(DbaVariable)!);

    // An ODP.NET connection as an application opens one (pooled).
    private static async Task<DbConnection> OpenAsync(string connectionString)
    {
        var factory = ProviderFactoryLoader.Load(OracleDialect.FactoryType, "oracle", "Oracle.ManagedDataAccess.Core", OracleDialect.HowToAddDriver);
        var connection = factory.CreateConnection()!;
        connection.ConnectionString = connectionString;
        await connection.OpenAsync(Ct);
        return connection;
    }
}
