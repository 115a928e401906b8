using System.Globalization;

namespace Outbox.Core.Templates;

/// <summary>
/// A StringWriter that refuses to grow past a number of characters, so a render cannot fill the
/// worker's memory. <paramref name="name"/> is what the refusal is about (a capture's variable), or null.
/// </summary>
internal sealed class BoundedWriter(int limit, string? name, string refusal) : StringWriter(CultureInfo.InvariantCulture)
{
    public override void Write(char value)
    {
        Ensure(1);
        base.Write(value);
    }

    public override void Write(string? value)
    {
        Ensure(value?.Length ?? 0);
        base.Write(value);
    }

    public override void Write(char[] buffer, int index, int count)
    {
        Ensure(count);
        base.Write(buffer, index, count);
    }

    public override void Write(ReadOnlySpan<char> buffer)
    {
        Ensure(buffer.Length);
        base.Write(buffer);
    }

    private void Ensure(int more)
    {
        if (GetStringBuilder().Length + (long)more > limit)
        {
            throw new TemplateBudgetException(name, refusal);
        }
    }
}
