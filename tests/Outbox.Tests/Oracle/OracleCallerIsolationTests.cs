using System.Text.RegularExpressions;
using Outbox.Storage;

namespace Outbox.Tests.Oracle;

/// <summary>
/// What CallerIsolationTests proves on PostgreSQL, checked in OUTBOX_MAIL's text (no Oracle
/// server runs here): mails are found by owner, and the draft's lock does not wait.
/// </summary>
public sealed class OracleCallerIsolationTests
{
    private static readonly string Body = SchemaInstaller.ReadScript("sql/oracle/04_outbox_mail_body.sql");
    private static readonly string Tables = SchemaInstaller.ReadScript("sql/oracle/01_tables.sql");

    private static string Subprogram(string name)
    {
        var start = Regex.Match(Body, $@"\bfunction {name}\(").Index;
        return Body[start..Body.IndexOf($"end {name};", start, StringComparison.Ordinal)];
    }

    [Fact]
    public void Lock_draft_finds_only_the_session_users_mail_before_it_locks_without_waiting()
    {
        var lockDraft = Subprogram("lock_draft");
        var owned = lockDraft.IndexOf("m.created_by = sys_context('userenv', 'session_user')", StringComparison.Ordinal);
        var locked = lockDraft.IndexOf("for update nowait", StringComparison.Ordinal);
        Assert.True(owned > 0, "lock_draft must look the mail up by its owner");
        Assert.True(locked > owned, "lock_draft must check ownership and status before it locks, and lock with NOWAIT");
        Assert.DoesNotMatch(@"for update\s*;", lockDraft);
        Assert.Contains("pragma exception_init(e_busy, -54)", lockDraft, StringComparison.Ordinal);
    }

    [Fact]
    public void An_idempotency_key_is_looked_up_and_unique_per_owner()
    {
        var newMessage = Subprogram("new_message");
        Assert.Contains("m.created_by = sys_context('userenv', 'session_user') and m.idempotency_key = p_idempotency_key", newMessage, StringComparison.Ordinal);
        Assert.Contains("(case when idempotency_key is not null then created_by end, idempotency_key)", Tables, StringComparison.Ordinal);
        Assert.DoesNotContain("unique (idempotency_key)", Tables, StringComparison.Ordinal);
    }
}
