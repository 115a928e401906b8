using Outbox.Storage;
using Outbox.Storage.Dialects;
using Outbox.Tests.Infrastructure;

namespace Outbox.Tests.Oracle;

/// <summary>
/// A live Oracle schema for the integration tests, when one is given. No Oracle server can run
/// on the development machine, so these tests skip there, saying why. .github/workflows/oracle.yml
/// runs them against Oracle Database Free; to run them by hand:
/// <code>
/// docker run -d --name outbox-oracle -p 1521:1521 -e ORACLE_PASSWORD=manager \
///     -e APP_USER=outbox -e APP_USER_PASSWORD=outbox gvenzl/oracle-free:23-slim
/// # when the log says DATABASE IS READY TO USE and OUTBOX can log in (the image makes it after the database opens):
/// until echo "select 'READY' || 'OK' from dual;" | docker exec -i outbox-oracle sqlplus -s -l outbox/outbox@FREEPDB1 | grep -q READYOK; do sleep 5; done
/// docker exec -i outbox-oracle sqlplus -s system/manager@FREEPDB1 &lt;&lt;&lt; 'grant create view, create role to outbox;'
/// OUTBOX_TEST_ORACLE='User Id=outbox;Password=outbox;Data Source=localhost:1521/FREEPDB1' \
/// OUTBOX_TEST_ORACLE_DBA='User Id=system;Password=manager;Data Source=localhost:1521/FREEPDB1' \
///     dotnet test Outbox.sln -p:WithOracle=true --filter "FullyQualifiedName~Outbox.Tests.Oracle.Oracle"
/// </code>
/// OUTBOX_TEST_ORACLE_DBA (a user that may create users) is needed only by OracleDeploymentTests,
/// which make the worker and application users.
/// The schema must be empty or hold an earlier outbox install: the tests install the shipped
/// scripts (through `outbox init`'s path) and delete the outbox's rows between tests.
/// </summary>
internal static class OracleTestDatabase
{
    public const string Variable = "OUTBOX_TEST_ORACLE";

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> Said = new(StringComparer.Ordinal);

    /// <summary>
    /// Skips the test, and says why once a run as a diagnostic message: dotnet test lists a skip
    /// at its default verbosity without the reason, which it prints only at detailed verbosity.
    /// </summary>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void SkipSaying(string reason)
    {
        if (Said.TryAdd(reason, true))
        {
            TestContext.Current.SendDiagnosticMessage($"skipped: {reason}");
        }

        Assert.Skip(reason);
    }

    /// <summary>An installed, emptied outbox in the given schema; skips the test when there is none.</summary>
    public static async Task<TestOutbox> RequireAsync()
    {
        var connectionString = Environment.GetEnvironmentVariable(Variable);
        var driver = Type.GetType(OracleDialect.FactoryType, throwOnError: false) is not null;
        if (string.IsNullOrWhiteSpace(connectionString) || !driver)
        {
            SkipSaying($"Oracle integration test: needs {Variable} (a connection string for an empty schema) and the Oracle driver "
                + $"(dotnet test -p:WithOracle=true); here {(string.IsNullOrWhiteSpace(connectionString) ? $"{Variable} is not set" : "it is set")} "
                + $"and the driver is {(driver ? "present" : "missing")}. No Oracle server runs on this machine; .github/workflows/oracle.yml and OracleTestDatabase show how to give one.");
        }

        var outbox = TestOutbox.Existing("oracle", connectionString!);
        await new SchemaInstaller(outbox.Database).InstallAsync(CancellationToken.None);
        await outbox.ExecuteAsync("delete from outbox_message");
        return outbox;
    }
}
