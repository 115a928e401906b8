using System.Text;
using System.Text.Json;
using Fluid;
using Fluid.Values;

namespace Outbox.Core.Templates;

/// <summary>
/// A mail's data (a JSON object) as Liquid values. Every object answers a name it does not hold
/// with <see cref="MissingVariableException"/> naming the path, so a typo in a placeholder fails
/// the mail instead of rendering as an empty string; an explicit null is a value (falsy).
/// </summary>
public static class TemplateData
{
    /// <summary>Checks a data document as enqueue does: a JSON object within the size and depth limits. Throws <see cref="Validation.MailValidationException"/> naming "data".</summary>
    public static void Check(string? json) =>
        Parse(json, (problem, hint, inner) => new Validation.MailValidationException("data", problem, hint)).Dispose();

    internal static JsonDocument Parse(string? json) =>
        Parse(json, (problem, hint, inner) => inner is null ? new TemplateException($"data: {problem}. {hint}") : new TemplateException($"data: {problem}. {hint}", inner));

    private static JsonDocument Parse(string? json, Func<string, string, Exception?, Exception> refuse)
    {
        const string Example = "Pass an object such as {\"order\": {\"id\": 42}}";
        json ??= "{}";
        var bytes = Encoding.UTF8.GetByteCount(json);
        if (bytes > TemplateLimits.MaxDataBytes)
        {
            throw refuse($"is {bytes} bytes, more than the {TemplateLimits.MaxDataBytes} allowed", "Pass only the values the template uses", null);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = TemplateLimits.MaxDataDepth });
        }
        catch (JsonException ex)
        {
            throw refuse($"is not JSON ({FirstLine(ex.Message)})", Example, ex);
        }

        var kind = document.RootElement.ValueKind;
        if (kind != JsonValueKind.Object)
        {
            document.Dispose();
            throw refuse($"must be a JSON object, got {kind.ToString().ToLowerInvariant()}", Example, null);
        }

        return document;
    }

    /// <summary>Each top-level member of the data as a variable. Throws <see cref="TemplateException"/> for a number a template cannot compute with.</summary>
    internal static IReadOnlyList<KeyValuePair<string, FluidValue>> Variables(JsonElement root) =>
        root.EnumerateObject().Select(member => KeyValuePair.Create(member.Name, ToValue(member.Value, member.Name))).ToList();

    private static FluidValue ToValue(JsonElement element, string path) => element.ValueKind switch
    {
        JsonValueKind.Object => new DictionaryValue(new DataObject(path, element.EnumerateObject()
            .GroupBy(m => m.Name, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => ToValue(g.Last().Value, $"{path}.{g.Key}"), StringComparer.Ordinal))),
        JsonValueKind.Array => new ArrayValue(element.EnumerateArray().Select((item, index) => ToValue(item, $"{path}[{index}]")).ToArray()),
        JsonValueKind.String => new StringValue(element.GetString()!),
        // Liquid numbers are decimals: one outside their range (a 1e30) cannot be counted with.
        // Refused naming it, rather than changed into another number or failing the worker.
        JsonValueKind.Number => element.TryGetDecimal(out var number) ? NumberValue.Create(number)
            : throw new TemplateException($"data: {path} is {element.GetRawText()}, larger than the numbers a template computes with (about 7.9e28 either way). Pass it as a string, \"{element.GetRawText()}\""),
        JsonValueKind.True => BooleanValue.True,
        JsonValueKind.False => BooleanValue.False,
        _ => NilValue.Instance,
    };

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();

    private sealed class DataObject(string path, Dictionary<string, FluidValue> members) : IFluidIndexable
    {
        public int Count => members.Count;

        public IEnumerable<string> Keys => members.Keys;

        public IEnumerable<FluidValue> Values => members.Values;

        public bool TryGetValue(string name, out FluidValue value) =>
            members.TryGetValue(name, out value!) ? true : throw new MissingVariableException(name, $"{path}.{name}");
    }
}
