namespace Outbox.Storage.Admin;

/// <summary>Mails sent and failed in one hour (UTC), from the attempt log.</summary>
public sealed record HourlyCount(string Hour, long Sent, long Failed);
