namespace Outbox.Tests.Catalogue;

/// <summary>
/// The values every way of enqueuing must judge alike (outbox_mail in PL/pgSQL, OutboxClient in
/// C#, and, checked statically, OUTBOX_MAIL in PL/SQL). A reviewer adds a case here, once; the
/// tests in ValidatorParityTests feed it to each validator and send the accepted ones.
/// </summary>
public static class EnqueueValueCatalogue
{
    public static IReadOnlyList<EnqueueCase> Cases { get; } =
    [
        new(ValueKind.Address, "app@example.com", true, "a bare address"),
        new(ValueKind.Address, "\"Doe, Jane\" <jane@example.com>", true, "a quoted display name with a comma"),
        new(ValueKind.Address, "Jürgen Größe <j@example.com>", true, "an 8-bit display name"),
        new(ValueKind.Address, "\"Dr. Who: Tardis\" <who@example.com>", true, "a colon inside quotes"),
        new(ValueKind.Address, "\"q\" grp: evil@x.example <a@example.com>", false, "group syntax in front of an address"),
        new(ValueKind.Address, "grp: a@example.com;", false, "a group"),
        new(ValueKind.Address, "a@example.com <c@example.com>", false, "an address as the display name"),
        new(ValueKind.Address, "\"unbalanced <a@example.com>", false, "an unbalanced quote"),
        new(ValueKind.Address, "Team (sales <a@example.com>", false, "an unbalanced comment"),
        new(ValueKind.Address, "user@", false, "no domain"),

        new(ValueKind.FileName, "report.pdf", true, "a plain name"),
        new(ValueKind.FileName, "archive.tar.gz", true, "two dots"),
        new(ValueKind.FileName, "Minutes 10:30.txt", true, "a colon that hides no blocked type"),
        new(ValueKind.FileName, "C:\\temp\\report.pdf", true, "a Windows path, cut to its name"),
        new(ValueKind.FileName, "setup.EXE", false, "case"),
        new(ValueKind.FileName, "evil.exe.", false, "a trailing dot, dropped by Windows"),
        new(ValueKind.FileName, "evil.exe. .", false, "trailing dots and spaces"),
        new(ValueKind.FileName, "evil.exe::$DATA", false, "an NTFS stream name"),
        new(ValueKind.FileName, "evil.exe:x.pdf", false, "a stream with a harmless-looking name"),
        new(ValueKind.FileName, "evil.exe\t", false, "a control character"),
        new(ValueKind.FileName, "evil\u001b.pdf", false, "an escape character"),
        new(ValueKind.FileName, "../../run.vbs", false, "a path to a blocked type"),

        new(ValueKind.MimeType, "application/pdf", true, "type/subtype"),
        new(ValueKind.MimeType, "text/plain; charset=utf-8", true, "a parameter"),
        new(ValueKind.MimeType, "text/plain ; charset=\"utf-8\";", true, "a quoted parameter and a trailing semicolon"),
        new(ValueKind.MimeType, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", true, "a long subtype"),
        new(ValueKind.MimeType, "garbage", false, "no slash"),
        new(ValueKind.MimeType, "application/pdf; x", false, "a parameter without a value"),
        new(ValueKind.MimeType, "text/plain; charset=\"utf-8", false, "an unclosed quote"),
        new(ValueKind.MimeType, "application/x-msdownload; name=\"evil.exe\"", false, "a file name hidden in the type"),
        new(ValueKind.MimeType, "application/octet-stream; FILENAME=evil.exe", false, "a filename parameter, upper case"),
        new(ValueKind.MimeType, "application/octet-stream; name*=utf-8''evil.exe", false, "an RFC 2231 name"),

        new(ValueKind.IdempotencyKey, "invoice-2026-0042", true, "a short key"),
        new(ValueKind.IdempotencyKey, new string('k', 400), true, "400 characters"),
        new(ValueKind.IdempotencyKey, string.Concat(Enumerable.Repeat("😀", 400)), true, "400 characters of 4 bytes each"),
        new(ValueKind.IdempotencyKey, new string('k', 401), false, "401 characters"),
        new(ValueKind.IdempotencyKey, new string('k', 3000), false, "more than a btree entry holds"),
    ];

    public static TheoryData<EnqueueCase> All()
    {
        var data = new TheoryData<EnqueueCase>();
        foreach (var item in Cases)
        {
            data.Add(item);
        }

        return data;
    }
}
