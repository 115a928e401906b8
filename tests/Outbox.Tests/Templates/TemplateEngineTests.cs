using Outbox.Core.Templates;

namespace Outbox.Tests.Templates;

/// <summary>The engine alone: encoding per part, strictness, the checks made at put and the bounds of a render.</summary>
public sealed class TemplateEngineTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly TemplateEngine Engine = TemplateEngine.Shared;

    private static TemplateSource Order(string? text = null, string? html = null, string subject = "Order {{ order.id }}") =>
        new("order_confirmation", null, subject, text ?? "Hello {{ customer.name }}", html ?? "<p>Hello {{ customer.name }}</p>");

    [Fact]
    public async Task Html_body_is_encoded_text_body_and_subject_are_not()
    {
        var rendered = await Engine.RenderAsync(Order(subject: "For {{ customer.name }}"), """{"customer": {"name": "<script>Zoë & Co</script>"}}""", Ct);

        Assert.Equal("For <script>Zoë & Co</script>", rendered.Subject);
        Assert.Equal("Hello <script>Zoë & Co</script>", rendered.TextBody);
        Assert.Equal("<p>Hello &lt;script&gt;Zoë &amp; Co&lt;/script&gt;</p>", rendered.HtmlBody);
    }

    [Fact]
    public async Task A_missing_member_names_the_template_the_part_the_line_and_the_path()
    {
        var source = Order(html: "<p>Hi</p>\n{% for line in order.lines %}\n<td>{{ line.sku }}</td><td>{{ line.qty }}</td>\n{% endfor %}");

        var error = await Assert.ThrowsAsync<TemplateException>(() => Engine.RenderAsync(source,
            """{"customer": {"name": "A"}, "order": {"id": 1, "lines": [{"sku": "X"}]}}""", Ct));

        Assert.Equal("template order_confirmation, html body line 3: qty is not in the data (looked up as order.lines[0].qty). Add it to the data (null for an empty value), or fix the template", error.Message);
    }

    [Fact]
    public async Task A_missing_top_level_variable_is_an_error_and_an_explicit_null_is_not()
    {
        var error = await Assert.ThrowsAsync<TemplateException>(() => Engine.RenderAsync(Order(), """{"order": {"id": 1}}""", Ct));
        Assert.StartsWith("template order_confirmation, text body line 1: customer is not in the data", error.Message, StringComparison.Ordinal);

        var rendered = await Engine.RenderAsync(Order(text: "{% if customer.note %}note{% else %}none{% endif %}"), """{"order": {"id": 1}, "customer": {"name": "A", "note": null}}""", Ct);
        Assert.Equal("none", rendered.TextBody);
    }

    [Fact]
    public void Broken_syntax_is_refused_at_check_with_its_line_and_column()
    {
        var error = Assert.Throws<TemplateException>(() => Engine.Check(Order(text: "Hello\n{{ customer.name }")));

        Assert.StartsWith("template order_confirmation, text body line 2, column ", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("Fix the Liquid syntax", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_filter_and_a_subject_of_two_lines_are_refused_at_check()
    {
        Assert.Equal("template order_confirmation, html body line 2: there is no filter named upcasee. Use one of Liquid's standard filters",
            Assert.Throws<TemplateException>(() => Engine.Check(Order(html: "<p>\n{{ customer.name | upcasee }}</p>"))).Message);
        Assert.Contains("subject: must be one line", Assert.Throws<TemplateException>(() => Engine.Check(Order(subject: "a\nb"))).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_value_that_would_break_the_subject_line_is_named()
    {
        var error = await Assert.ThrowsAsync<TemplateException>(() => Engine.RenderAsync(Order(subject: "Order {{ order.id }} for {{ customer.name }}"),
            "{\"order\": {\"id\": 1}, \"customer\": {\"name\": \"A\\r\\nBcc: x@evil.example\"}}", Ct));

        Assert.Equal("template order_confirmation, subject: customer.name puts the control character U+000D into the subject, which must be one line. Remove line breaks from that value", error.Message);
    }

    [Fact]
    public async Task An_endless_loop_and_a_doubling_string_stop_at_their_bounds()
    {
        var loop = await Assert.ThrowsAsync<TemplateException>(() => Engine.RenderAsync(
            Order(text: "{% for i in (1..1000) %}{% for j in (1..1000) %}x{% endfor %}{% endfor %}"), """{"customer": {"name": "A"}, "order": {"id": 1}}""", Ct));
        Assert.Contains($"takes more than {TemplateLimits.MaxSteps} steps", loop.Message, StringComparison.Ordinal);

        var range = await Assert.ThrowsAsync<TemplateException>(() => Engine.RenderAsync(Order(text: "{% for i in (1..100000000) %}x{% endfor %}"), """{"customer": {"name": "A"}, "order": {"id": 1}}""", Ct));
        Assert.Equal($"template order_confirmation, text body: the range (1..100000000) is longer than the {TemplateLimits.MaxSteps} steps a render may take. Loop over less", range.Message);

        var doubling = await Assert.ThrowsAsync<TemplateException>(() => Engine.RenderAsync(
            Order(text: "{% assign x = 'ab' %}{% for i in (1..60) %}{% assign x = x | append: x %}{% endfor %}{{ x | size }}"), """{"customer": {"name": "A"}, "order": {"id": 1}}""", Ct));
        Assert.Contains($"longer than {TemplateLimits.MaxRenderedLength} characters", doubling.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[1, 2]", "data: must be a JSON object, got array")]
    [InlineData("{\"a\": ", "data: is not JSON")]
    public async Task Data_that_is_not_a_json_object_is_refused_naming_data(string data, string expected)
    {
        var error = await Assert.ThrowsAsync<TemplateException>(() => Engine.RenderAsync(Order(), data, Ct));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Data_over_the_size_limit_is_refused()
    {
        var data = $"{{\"x\": \"{new string('a', TemplateLimits.MaxDataBytes)}\"}}";
        Assert.StartsWith("data: is ", Assert.Throws<Outbox.Core.Validation.MailValidationException>(() => TemplateData.Check(data)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Strings_render_as_written_numbers_as_fluid_prints_them_and_null_takes_the_default_filter()
    {
        var rendered = await Engine.RenderAsync(Order(text: "{{ price }} {{ amount }} {{ qty | times: 3 }} {{ note | default: 'none' }} {% if paid %}paid{% endif %}"),
            """{"customer": {"name": "A"}, "order": {"id": 1}, "price": "10.00", "amount": 10.00, "qty": 2, "note": null, "paid": true}""", Ct);

        Assert.Equal("10.00 10.0 6 none paid", rendered.TextBody);
    }

    [Fact]
    public async Task Include_is_refused_as_unsupported()
    {
        var error = await Assert.ThrowsAsync<TemplateException>(() => Engine.RenderAsync(Order(text: "{% include 'footer' %}"), """{"customer": {"name": "A"}, "order": {"id": 1}}""", Ct));

        Assert.Equal("template order_confirmation, text body: include and render tags are not supported. Put the text into the template itself", error.Message);
    }
}
