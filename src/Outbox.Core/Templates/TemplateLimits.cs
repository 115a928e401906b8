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

    /// <summary>
    /// The largest rendered body (text or HTML), and the largest value a capture, filter or tag
    /// may make or a filter may take, in characters (an array counts the characters of its
    /// strings plus its elements, through nesting: <see cref="RenderBudget.Measure"/>).
    /// </summary>
    public const int MaxRenderedLength = 2 * 1024 * 1024;

    /// <summary>
    /// The most elements an array a filter makes may have (split, concat, map, ...): more than a
    /// part could loop over within <see cref="MaxSteps"/>, and small enough (a few MB) that no
    /// filter can fill memory with tiny strings (split of 2 million characters with "").
    /// </summary>
    public const int MaxArrayLength = 100_000;

    /// <summary>
    /// Characters or elements a filter, capture or comparison handles for one more step: what it
    /// takes and makes is charged by its size, so a sort of a large array or a replace over a long
    /// text costs in proportion. 200,000 steps of 100 characters bound a part's filter work to
    /// 20 million characters, a fraction of a second.
    /// </summary>
    public const int CharactersPerStep = 100;

    /// <summary>
    /// Statements, loop turns and filter calls one part of a mail may take (Fluid's MaxSteps):
    /// an order of 2,000 lines with a dozen values each fits; an endless loop stops here.
    /// </summary>
    public const int MaxSteps = 200_000;

    /// <summary>How deeply tags may nest while rendering (Fluid's MaxRecursion).</summary>
    public const int MaxRecursion = 20;
}
