using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.RegularExpressions;
using System.Text.Unicode;
using Fluid;
using Fluid.Values;

namespace Outbox.Core.Templates;

/// <summary>
/// Liquid templates through Fluid: checked when saved, rendered when the worker builds the mail.
/// HTML bodies are rendered with HTML encoding (a value "&lt;script&gt;" arrives as text), text
/// bodies and the subject without. Unknown variables and filters are errors; every render is
/// bounded by <see cref="TemplateLimits"/>. One instance is shared: Fluid's parser and options
/// are safe to use from several threads, each render has a context of its own.
/// </summary>
public sealed partial class TemplateEngine
{
    private readonly FluidParser _parser = new();
    private readonly TemplateOptions _options;

    // Non-ASCII letters stay as they are (UTF-8 bodies); only what HTML gives meaning is encoded.
    private static readonly HtmlEncoder Html = HtmlEncoder.Create(UnicodeRanges.All);

    public TemplateEngine()
    {
        _options = new TemplateOptions
        {
            StrictFilters = true,
            MaxSteps = TemplateLimits.MaxSteps,
            MaxRecursion = TemplateLimits.MaxRecursion,
            ModelNamesComparer = StringComparer.Ordinal,
            CultureInfo = CultureInfo.InvariantCulture,
            TimeZone = TimeZoneInfo.Utc,
            // Variables at the top of the data; members of objects answer for themselves (TemplateData).
            Undefined = name => throw new MissingVariableException(name, name),
        };

        // Every filter is charged by the size of what it takes and makes, and may not make a value
        // larger than a whole body: "append" in a loop would otherwise double a string each turn.
        BoundedFilters.Bound(_options.Filters);
    }

    /// <summary>The engine every caller in this process uses.</summary>
    public static TemplateEngine Shared { get; } = new();

    /// <summary>
    /// Checks a template before it is saved: its name and locale, sizes, that the subject is one
    /// line, that every part parses and names only filters that exist. Throws <see cref="TemplateException"/>.
    /// </summary>
    public void Check(TemplateSource source)
    {
        CheckShape(source);
        foreach (var (part, text) in Parts(source))
        {
            Parse(source, part, text);
            foreach (var (filter, line) in FilterNames(text))
            {
                if (!_options.Filters.TryGetValue(filter, out _))
                {
                    throw new TemplateException($"template {source.Label}, {part} line {line}: there is no filter named {filter}. Use one of Liquid's standard filters");
                }
            }
        }
    }

    // What a render checks too, before any parsing: names, sizes, a one-line subject.
    private static void CheckShape(TemplateSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        TemplateNames.CheckName("name", source.Name);
        TemplateNames.CheckLocale("locale", source.Locale);
        if (source.TextBody is null && source.HtmlBody is null)
        {
            throw new TemplateException($"template {source.Label}: has neither a text nor an HTML body. Give it --text-file, --html-file or both");
        }

        if (source.Subject.Length > TemplateLimits.MaxSubjectLength)
        {
            throw new TemplateException($"template {source.Label}, subject: is {source.Subject.Length} characters, more than the {TemplateLimits.MaxSubjectLength} allowed. Shorten it");
        }

        if (source.Subject.AsSpan().IndexOfAnyInRange('\0', '\x1F') >= 0 || source.Subject.Contains('\x7F', StringComparison.Ordinal))
        {
            throw new TemplateException($"template {source.Label}, subject: must be one line without control characters. Remove the line breaks");
        }

        foreach (var (part, text) in Parts(source))
        {
            if (Encoding.UTF8.GetByteCount(text) > TemplateLimits.MaxBodyBytes)
            {
                throw new TemplateException($"template {source.Label}, {part}: is {Encoding.UTF8.GetByteCount(text)} bytes, more than the {TemplateLimits.MaxBodyBytes} allowed. Shorten it");
            }
        }
    }

    /// <summary>
    /// Renders a template with a mail's data (a JSON object). Throws <see cref="TemplateException"/>
    /// naming the template, the part, the line and the variable; nothing is returned half-rendered.
    /// </summary>
    public async Task<RenderedTemplate> RenderAsync(TemplateSource source, string? data, CancellationToken cancellationToken)
    {
        // An unknown filter in a row written by hand fails at render (StrictFilters), named there.
        CheckShape(source);
        var variables = Variables(source, data);
        var subject = await RenderPartAsync(source, "subject", source.Subject, variables, NullEncoder.Default, TemplateLimits.MaxRenderedSubjectLength, cancellationToken).ConfigureAwait(false);
        var bad = subject.AsSpan().IndexOfAnyInRange('\0', '\x1F');
        if (bad >= 0)
        {
            var variable = await ControlCharacterSourceAsync(source.Subject, variables).ConfigureAwait(false);
            throw new TemplateException($"template {source.Label}, subject: {variable ?? "a value"} puts the control character U+{(int)subject[bad]:X4} into the subject, which must be one line. Remove line breaks from that value");
        }

        var text = source.TextBody is null ? null
            : await RenderPartAsync(source, "text body", source.TextBody, variables, NullEncoder.Default, TemplateLimits.MaxRenderedLength, cancellationToken).ConfigureAwait(false);
        var html = source.HtmlBody is null ? null
            : await RenderPartAsync(source, "html body", source.HtmlBody, variables, Html, TemplateLimits.MaxRenderedLength, cancellationToken).ConfigureAwait(false);
        return new RenderedTemplate(subject, text, html);
    }

    // The data as the template's variables, made once for all parts (Liquid values are not changed by a render).
    private static IReadOnlyList<KeyValuePair<string, FluidValue>> Variables(TemplateSource source, string? data)
    {
        try
        {
            using var document = TemplateData.Parse(data);
            return TemplateData.Variables(document.RootElement);
        }
        catch (TemplateException ex)
        {
            throw new TemplateException($"template {source.Label}, {ex.Message}", ex);
        }
    }

    private async Task<string> RenderPartAsync(TemplateSource source, string part, string text, IReadOnlyList<KeyValuePair<string, FluidValue>> variables, TextEncoder encoder, int limit, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var template = Parse(source, part, text);
        var context = Context(variables);
        using var writer = new BoundedWriter(limit, null, $"template {source.Label}, {part}: renders to more than {limit} characters. Loop over less data, or shorten the template");
        try
        {
            await template.RenderAsync(writer, encoder, context).ConfigureAwait(false);
        }
        catch (MissingVariableException ex)
        {
            throw new TemplateException($"template {source.Label}, {part}{LineOf(text, ex.Name)}: {ex.Name} is not in the data (looked up as {ex.Path}). Add it to the data (null for an empty value), or fix the template", ex);
        }
        catch (TemplateBudgetException ex)
        {
            throw new TemplateException(ex.Message.StartsWith("template ", StringComparison.Ordinal) ? ex.Message : $"template {source.Label}, {part}{(ex.Name is null ? string.Empty : LineOf(text, ex.Name))}: {ex.Message}", ex);
        }
        catch (InvalidOperationException ex) when (ex.Message.Contains("maximum", StringComparison.OrdinalIgnoreCase))
        {
            throw new TemplateException($"template {source.Label}, {part}: takes more than {TemplateLimits.MaxSteps} steps or nests deeper than {TemplateLimits.MaxRecursion}. Loop over less data", ex);
        }
        catch (FileNotFoundException ex)
        {
            throw new TemplateException($"template {source.Label}, {part}: include and render tags are not supported. Put the text into the template itself", ex);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex)
        {
            // Whatever else fails while rendering is this template's (or its data's) failure, not
            // the worker's: it fails the mail once with a reason, never retried as transient.
            var filter = UndefinedFilter().Match(ex.Message);
            throw new TemplateException(filter.Success
                ? $"template {source.Label}, {part}{LineOf(text, filter.Groups[1].Value)}: there is no filter named {filter.Groups[1].Value}. Use one of Liquid's standard filters"
                : $"template {source.Label}, {part}: cannot be rendered ({FirstLine(ex.Message)}). Preview it with outbox template render", ex);
        }

        return writer.ToString();
    }

    private RenderBudget Context(IReadOnlyList<KeyValuePair<string, FluidValue>> variables)
    {
        var context = new RenderBudget(_options);
        foreach (var (name, value) in variables)
        {
            context.SetValue(name, value);
        }

        return context;
    }

    // Parsed templates by their text: a worker renders the same few templates all day. Bounded:
    // when full it starts again (templates are at most MaxBodyBytes each).
    private const int CachedTemplates = 128;
    private readonly ConcurrentDictionary<string, IFluidTemplate> _parsed = new(StringComparer.Ordinal);

    private IFluidTemplate Parse(TemplateSource source, string part, string text)
    {
        if (_parsed.TryGetValue(text, out var cached))
        {
            return cached;
        }

        if (_parser.TryParse(text, out var template, out var error))
        {
            if (_parsed.Count >= CachedTemplates)
            {
                _parsed.Clear();
            }

            return _parsed[text] = BoundedTemplate.Instance.VisitTemplate(template);
        }

        var position = Position().Match(error);
        var where = position.Success ? $" line {position.Groups[1].Value}, column {position.Groups[2].Value}" : string.Empty;
        var problem = Position().Replace(FirstLine(error), string.Empty).TrimEnd();
        throw new TemplateException($"template {source.Label}, {part}{where}: {problem}. Fix the Liquid syntax");
    }

    // The subject's output tags one by one, to name the one whose value holds the control character.
    private async Task<string?> ControlCharacterSourceAsync(string subject, IReadOnlyList<KeyValuePair<string, FluidValue>> variables)
    {
        // One context for every tag: together they spend one part's budget, as the subject did
        // when it rendered, however many tags it holds.
        var context = Context(variables);
        foreach (Match tag in OutputTag().Matches(subject))
        {
            if (!_parser.TryParse(tag.Value, out var template, out _))
            {
                continue;
            }

            try
            {
                using var writer = new BoundedWriter(TemplateLimits.MaxRenderedSubjectLength, null, "too long");
                await BoundedTemplate.Instance.VisitTemplate(template).RenderAsync(writer, NullEncoder.Default, context).ConfigureAwait(false);
                if (writer.ToString().AsSpan().IndexOfAnyInRange('\0', '\x1F') >= 0)
                {
                    return tag.Groups[1].Value.Trim();
                }
            }
            catch (TemplateBudgetException)
            {
                return null;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // A tag that only renders inside its loop or with an assigned variable: not this one.
            }
        }

        return null;
    }

    private static IEnumerable<(string Part, string Text)> Parts(TemplateSource source)
    {
        yield return ("subject", source.Subject);
        if (source.TextBody is not null)
        {
            yield return ("text body", source.TextBody);
        }

        if (source.HtmlBody is not null)
        {
            yield return ("html body", source.HtmlBody);
        }
    }

    // The Liquid tags of a template with their lines, leaving out raw and comment blocks and the
    // contents of quoted strings (which are text, not names).
    private static IEnumerable<(string Code, int Line)> Tags(string text)
    {
        var code = Verbatim().Replace(text, m => new string(m.Value.Select(c => c == '\n' ? '\n' : ' ').ToArray()));
        foreach (Match tag in Tag().Matches(code))
        {
            var line = 1 + code.AsSpan(0, tag.Index).Count('\n');
            yield return (QuotedString().Replace(tag.Value, m => new string(' ', m.Length)), line);
        }
    }

    private static IEnumerable<(string Name, int Line)> FilterNames(string text) =>
        Tags(text).SelectMany(tag => FilterName().Matches(tag.Code).Select(m => (m.Groups[1].Value, tag.Line)));

    // Fluid's AST keeps no positions: the line is that of the first tag that uses the name.
    private static string LineOf(string text, string name)
    {
        var word = new Regex($@"(?<![\w-]){Regex.Escape(name)}(?![\w-])", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        foreach (var (code, line) in Tags(text))
        {
            if (word.IsMatch(code))
            {
                return $" line {line}";
            }
        }

        return string.Empty;
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();

    [GeneratedRegex(@"at \((\d+):(\d+)\)", RegexOptions.CultureInvariant)]
    private static partial Regex Position();

    [GeneratedRegex(@"\{\{(.*?)\}\}", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex OutputTag();

    [GeneratedRegex(@"\{\{.*?\}\}|\{%.*?%\}", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex Tag();

    [GeneratedRegex(@"\{%-?\s*raw\s*-?%\}.*?\{%-?\s*endraw\s*-?%\}|\{%-?\s*comment\s*-?%\}.*?\{%-?\s*endcomment\s*-?%\}", RegexOptions.Singleline | RegexOptions.CultureInvariant)]
    private static partial Regex Verbatim();

    [GeneratedRegex(@"'[^']*'|""[^""]*""", RegexOptions.CultureInvariant)]
    private static partial Regex QuotedString();

    [GeneratedRegex(@"\|\s*([A-Za-z_][\w-]*)", RegexOptions.CultureInvariant)]
    private static partial Regex FilterName();

    [GeneratedRegex(@"Undefined filter '([^']*)'", RegexOptions.CultureInvariant)]
    private static partial Regex UndefinedFilter();
}
