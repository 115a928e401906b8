using System.Data.Common;
using Dapper;
using Outbox.Core.Templates;
using Outbox.Core.Validation;
using Outbox.Storage.Dialects;

namespace Outbox.Storage.Templates;

/// <summary>
/// outbox_template, written once for every database: find the row a mail uses (in the caller's
/// transaction), put a template after checking it, list and show them.
/// </summary>
public sealed class TemplateStore(SqlDialect dialect)
{
    private string T => dialect.Table("outbox_template");

    /// <summary>
    /// The row for a name and locale: that locale's, else its language's ("de" for "de-CH"), else
    /// the one without a locale; the same choice as outbox.find_template in PostgreSQL and
    /// OUTBOX_MAIL on Oracle. Null when the name has no row that fits.
    /// </summary>
    public async Task<TemplateSource?> FindAsync(DbConnection connection, DbTransaction? transaction, string name, string? locale, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var language = locale?.Split('-')[0];
        var row = await connection.QueryFirstOrDefaultAsync<TemplateRow>(new CommandDefinition(dialect.Sql(
            $"""
            select name, locale, subject, text_body as TextBody, html_body as HtmlBody
              from {T}
             where name = @Name
               and (locale is null or lower(locale) = lower(@Locale) or lower(locale) = lower(@Language))
             order by case when lower(locale) = lower(@Locale) then 0 when locale is not null then 1 else 2 end
             {dialect.Limit("1")}
            """),
            new { Name = name, Locale = locale, Language = language }, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        return row is null ? null : new TemplateSource(row.Name, row.Locale, row.Subject, row.TextBody, row.HtmlBody);
    }

    /// <summary>
    /// The row a mail would use, or <see cref="MailValidationException"/> naming "template", in
    /// the words outbox_mail.send_template uses.
    /// </summary>
    public async Task<TemplateSource> RequireAsync(DbConnection connection, DbTransaction? transaction, string name, string? locale, CancellationToken cancellationToken) =>
        await FindAsync(connection, transaction, name, locale, cancellationToken).ConfigureAwait(false)
        ?? throw new MailValidationException("template",
            $"no template named \"{Printable(name, 100)}\"{(locale is null ? string.Empty : $" for locale {Printable(locale, 35)} nor a default one")}",
            "Put it first (outbox template put, or an INSERT into outbox_template); outbox template list shows them");

    /// <summary>
    /// Checks the template (syntax, filters, sizes, a one-line subject) and saves it: a new row,
    /// or the row of the same name and locale changed. Returns true when it made a new row.
    /// </summary>
    public async Task<bool> PutAsync(DbConnection connection, TemplateSource template, string user, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(template);
        try
        {
            TemplateEngine.Shared.Check(template);
        }
        catch (TemplateException ex)
        {
            throw new MailValidationException(ex.Message, ex);
        }

        dialect.CheckColumnSizes(template);

        var values = new
        {
            template.Name,
            template.Locale,
            template.Subject,
            TextBody = dialect.LargeText(template.TextBody),
            HtmlBody = dialect.LargeText(template.HtmlBody),
            User = user,
        };
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        var changed = await connection.ExecuteAsync(new CommandDefinition(dialect.Sql(
            $"""
            update {T}
               set subject = @Subject, text_body = @TextBody, html_body = @HtmlBody, changed_at = {dialect.Now}, changed_by = {dialect.TemplateEditor}
             where name = @Name and (locale = @Locale or (locale is null and @Locale is null))
            """),
            values, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        if (changed == 0)
        {
            await connection.ExecuteAsync(new CommandDefinition(dialect.Sql(
                $"""
                insert into {T} (name, locale, subject, text_body, html_body, created_by, changed_by)
                values (@Name, @Locale, @Subject, @TextBody, @HtmlBody, {dialect.TemplateEditor}, {dialect.TemplateEditor})
                """),
                values, transaction, cancellationToken: cancellationToken)).ConfigureAwait(false);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return changed == 0;
    }

    /// <summary>Every template row, by name and locale (the default row first), without the bodies.</summary>
    public async Task<IReadOnlyList<TemplateRow>> ListAsync(DbConnection connection, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<TemplateRow>(new CommandDefinition(dialect.Sql(
            $"""
            select name, locale, subject, {dialect.AsIsoText("changed_at")} as ChangedAt, changed_by as ChangedBy
              from {T}
             order by name, case when locale is null then 0 else 1 end, locale
            """), cancellationToken: cancellationToken)).ConfigureAwait(false)).ToList();

    /// <summary>Every row of one template name (each locale), with the bodies.</summary>
    public async Task<IReadOnlyList<TemplateRow>> ShowAsync(DbConnection connection, string name, CancellationToken cancellationToken) =>
        (await connection.QueryAsync<TemplateRow>(new CommandDefinition(dialect.Sql(
            $"""
            select name, locale, subject, text_body as TextBody, html_body as HtmlBody,
                   {dialect.AsIsoText("created_at")} as CreatedAt, created_by as CreatedBy,
                   {dialect.AsIsoText("changed_at")} as ChangedAt, changed_by as ChangedBy
              from {T}
             where name = @Name
             order by case when locale is null then 0 else 1 end, locale
            """), new { Name = name }, cancellationToken: cancellationToken)).ConfigureAwait(false)).ToList();

    private static string Printable(string value, int max) => new(value.Take(max).Select(c => char.IsControl(c) ? '?' : c).ToArray());
}
