namespace Outbox.Core.Templates;

/// <summary>
/// Bounds on a template, its data and its output, so that neither a hostile template nor hostile
/// data can exhaust the worker. The same numbers are in sql/postgresql/02_api.sql,
/// sql/oracle/04_outbox_mail_body.sql (the data bound, checked at enqueue) and docs/templates.md.
/// </summary>
public static class TemplateLimits
{
    /// <summary>The longest template name, in characters (letters, digits, _ . -).</summary>
    public const int MaxNameLength = 100;

    /// <summary>The longest subject template, in characters; a subject template is one line.</summary>
    public const int MaxSubjectLength = 1000;

    /// <summary>The largest text or HTML body template, in UTF-8 bytes.</summary>
    public const int MaxBodyBytes = 256 * 1024;

    /// <summary>The largest data document of one mail, in UTF-8 bytes of its JSON text.</summary>
    public const int MaxDataBytes = 256 * 1024;

    /// <summary>How deeply the data's objects and arrays may nest.</summary>
    public const int MaxDataDepth = 32;

    /// <summary>The longest rendered subject, in characters.</summary>
    public const int MaxRenderedSubjectLength = 1000;

    /// <summary>The largest rendered body (text or HTML), and the largest value a tag or filter may make, in characters.</summary>
    public const int MaxRenderedLength = 2 * 1024 * 1024;

    /// <summary>
    /// Statements, loop turns and filter calls one part of a mail may take (Fluid's MaxSteps):
    /// an order of 2,000 lines with a dozen values each fits; an endless loop stops here.
    /// </summary>
    public const int MaxSteps = 200_000;

    /// <summary>How deeply tags may nest while rendering (Fluid's MaxRecursion).</summary>
    public const int MaxRecursion = 20;
}
