using System.Text.Json;
using Outbox.Core.Templates;

namespace Outbox.Tests.Templates;

/// <summary>
/// Hostile templates against the documented bounds: captures, filters, comparisons and arrays are
/// charged by their size, so each one fails with the bound it broke, having used little memory,
/// and a real order of 2,000 lines still fits.
/// </summary>
public sealed class TemplateBoundsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TemplateEngine Engine = TemplateEngine.Shared;

    // 100,000 characters, a thousand-character text and a needle that matches almost everywhere:
    // all a caller can pass within the data bound.
    private static readonly string Data = JsonSerializer.Serialize(new
    {
        big = new string('a', 100_000),
        @long = new string('y', 1_000),
        needle = new string('a', 500) + "b" + new string('a', 499),
        small = new[] { 1, 2, 3 },
    });

    // Far below what the same templates reached unbounded (3 GB for a capture, 1.8 GB for one replace).
    private const long AllowedBytes = 64L * 1024 * 1024;

    public static TheoryData<string, string> Hostile => new()
    {
        // A capture doubling itself; one capture filling itself in a loop.
        { "{% assign a = 'ab' %}{% for i in (1..60) %}{% capture a %}{{ a }}{{ a }}{% endcapture %}{% endfor %}{{ a | size }}",
            "text body line 1: capture a makes a value longer than 2097152 characters. Capture less" },
        { "{% capture c %}{% for i in (1..100000) %}{{ big }}{% endfor %}{% endcapture %}",
            "text body line 1: capture c makes a value longer than 2097152 characters. Capture less" },
        // One replace of each character by a thousand: refused before it is made.
        { "{{ big | replace: 'a', long }}", "text body line 1: the filter replace makes a value longer than 2097152 characters. Work on less data" },
        { "x\n{% assign s = big | append: big %}{% for i in (1..60) %}{% assign s = s | prepend: s %}{% endfor %}",
            "text body line 2: the filter prepend makes a value longer than 2097152 characters. Work on less data" },
        // An array doubled by concat; a text split into characters; a join with a long separator.
        { "{% assign a = small %}{% for i in (1..60) %}{% assign a = a | concat: a %}{% endfor %}",
            "text body line 1: the filter concat makes an array of more than 100000 elements. Work on less data" },
        { "{% assign a = big | append: big | split: '' %}", "text body line 1: the filter split makes an array of more than 100000 elements. Work on less data" },
        { "{{ (1..50000) | join: long }}", "text body line 1: the filter join makes a value longer than 2097152 characters. Work on less data" },
        // A width or precision that makes millions of characters from a few; a format repeating a long value.
        { "{{ 1 | format_number: 'F99999999' }}", "text body line 1: the filter format_number makes a value longer than 2097152 characters. Work on less data" },
        { "{{ 'now' | date: '%99999999d' }}", "text body line 1: the filter date makes a value longer than 2097152 characters. Work on less data" },
        { "{{ '{0,999999}{0,999999}{0,999999}' | format_string: 1 }}", "text body line 1: the filter format_string makes a value longer than 2097152 characters. Work on less data" },
        { "{% capture f %}{% for i in (1..30) %}{0}{% endfor %}{% endcapture %}{{ f | format_string: big }}", "text body line 1: the filter format_string makes a value longer than 2097152 characters. Work on less data" },
        // Work: sorting a large array again and again; searching a long text for a long needle;
        // comparing long values in a loop.
        { "{% assign a = (1..100000) %}{% for i in (1..1000) %}{% assign s = a | sort %}{% endfor %}",
            "text body line 1: the filter sort takes the render past the 200000 steps a part may take" },
        { "{% assign a = (1..60000) | join: ',' | split: ',' %}{% for i in (1..1000) %}{% assign s = a | sort_natural %}{% endfor %}",
            "text body line 1: the filter sort_natural takes the render past the 200000 steps a part may take" },
        { "{% for i in (1..100000) %}{% if big contains needle %}{% endif %}{% endfor %}",
            "text body line 1: the comparison contains takes the render past the 200000 steps a part may take" },
        { "{% assign b = big | append: '' %}{% for i in (1..100000) %}{% if big == b %}{% endif %}{% endfor %}",
            "text body line 1: the comparison == takes the render past the 200000 steps a part may take" },
        { "{% assign b = big | append: '' %}{% for i in (1..100000) %}{% case big %}{% when b %}{% endcase %}{% endfor %}",
            "text body line 1: the case tag takes the render past the 200000 steps a part may take" },
        { "{% for i in (1..100000) %}{% assign r = (1..150000) %}{% endfor %}",
            "text body: the range (1..150000) takes the render past the 200000 steps a part may take" },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public async Task A_hostile_template_fails_with_the_bound_it_broke_having_used_little_memory(string text, string expected)
    {
        var source = new TemplateSource("hostile", null, "Hostile", text, null);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var render = Engine.RenderAsync(source, Data, Ct);
        // Everything a render does completes on this thread: what it allocated is counted here.
        Assert.True(render.IsCompleted);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        var error = await Assert.ThrowsAsync<TemplateException>(() => render);
        Assert.StartsWith($"template hostile, {expected}", error.Message, StringComparison.Ordinal);
        Assert.True(allocated < AllowedBytes, $"the render allocated {allocated:N0} bytes");
    }

    [Fact]
    public async Task Naming_the_value_that_broke_the_subject_spends_no_more_than_one_parts_budget()
    {
        // Tags that cost nothing where they stand (inside an if that is false) are rendered one by
        // one to find the one that put a line break into the subject: together, one budget.
        var heavy = string.Concat(Enumerable.Repeat("{{ (1..100000) | sort | size }}", 25));
        var source = new TemplateSource("hostile", null, $"{{% if false %}}{heavy}{{% endif %}}{{{{ nl }}}}", "x", null);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var render = Engine.RenderAsync(source, """{"nl": "\r"}""", Ct);
        Assert.True(render.IsCompleted);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        var error = await Assert.ThrowsAsync<TemplateException>(() => render);
        Assert.Contains("puts the control character U+000D into the subject", error.Message, StringComparison.Ordinal);
        Assert.True(allocated < 16L * 1024 * 1024, $"the render allocated {allocated:N0} bytes");
    }

    [Fact]
    public async Task An_order_of_two_thousand_lines_with_filters_on_every_line_renders_within_the_bounds()
    {
        var lines = Enumerable.Range(1, 2_000).Select(i => new { sku = $"SKU-{i:D5}", name = $"Article number {i} in a long name", qty = i % 7, price = $"{i % 100}.50" });
        var data = JsonSerializer.Serialize(new { customer = new { name = "Zoë" }, order = new { id = 42, lines } });
        var text = """
            {% assign sorted = order.lines | sort: "sku" %}{% for line in sorted %}{% capture row %}{{ line.qty | times: 1 }} x {{ line.name | upcase | truncate: 20 }}{% endcapture %}{{ row | strip | prepend: "- " }} ({{ line.sku | replace: "SKU-", "" }}) {% if line.qty == 0 %}free{% else %}{{ line.price }}{% endif %}
            {% endfor %}{{ order.lines | map: "sku" | join: ", " | size }}
            """;

        var rendered = await Engine.RenderAsync(new TemplateSource("order", null, "Order {{ order.id }}", text, null), data, Ct);

        Assert.Contains("- 1 x ARTICLE NUMBER 1 ... (00001) 1.50", rendered.TextBody, StringComparison.Ordinal);
        Assert.EndsWith("21998", rendered.TextBody, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Total\n{{ order.total | divided_by: order.count }}", """{"order": {"total": 10, "count": 0}}""",
        "template order, text body line 2: the filter divided_by failed: Attempted to divide by zero. Fix the template or the data")]
    [InlineData("{{ order.total | plus: order.total }}", """{"order": {"total": 79228162514264337593543950335}}""",
        "template order, text body line 1: the filter plus failed: Value was either too large or too small for a Decimal. Fix the template or the data")]
    [InlineData("No number used", """{"order": {"total": 7.93e28}}""",
        "template order, data: order.total is 7.93e28, larger than the numbers a template computes with (about 7.9e28 either way). Pass it as a string, \"7.93e28\"")]
    public async Task Whatever_fails_in_a_render_is_a_template_error_of_one_line(string text, string data, string expected)
    {
        var error = await Assert.ThrowsAsync<TemplateException>(() => Engine.RenderAsync(new TemplateSource("order", null, "Order", text, null), data, Ct));

        Assert.Equal(expected, error.Message);
    }
}
