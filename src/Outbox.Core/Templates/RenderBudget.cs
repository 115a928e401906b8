using Fluid;
using Fluid.Values;

namespace Outbox.Core.Templates;

/// <summary>
/// The context of one part's render, which pays for work by its size: Fluid counts a statement,
/// a loop turn or a filter call as one step whatever it handles, so a <c>sort</c> of a large
/// array or a <c>replace</c> over a long text would cost what <c>upcase</c> of a name costs.
/// Filters, captures and comparisons charge here one more step per
/// <see cref="TemplateLimits.CharactersPerStep"/> characters or elements they handle, against
/// the same <see cref="TemplateLimits.MaxSteps"/>.
/// </summary>
internal sealed class RenderBudget(TemplateOptions options) : TemplateContext(options)
{
    /// <summary>
    /// Charges <paramref name="units"/> characters or elements handled by <paramref name="what"/>
    /// ("the filter sort"); <paramref name="name"/> is how the template names it ("sort").
    /// </summary>
    public void Charge(string name, string what, long units)
    {
        var steps = units / TemplateLimits.CharactersPerStep;
        if (_steps + steps > TemplateLimits.MaxSteps)
        {
            throw new TemplateBudgetException(name, $"{what} takes the render past the {TemplateLimits.MaxSteps} steps a part may take (a step is a statement, a loop turn, a filter call, or {TemplateLimits.CharactersPerStep} characters, an element counting {ElementWeight}, that a filter, capture or comparison handles). Work on less data");
        }

        _steps += (int)steps;
    }

    /// <summary>
    /// What an element of an array or object counts for, in characters: one takes about the
    /// memory of 20 characters (a value object and a reference to it), and making or visiting it
    /// costs about as much.
    /// </summary>
    public const int ElementWeight = 20;

    /// <summary>
    /// The size of a value as the bounds count it: the characters of its strings and
    /// <see cref="ElementWeight"/> for each element of its arrays and objects (with their keys),
    /// through every level of nesting, and the printed length of anything else. Counting stops past <paramref name="cap"/>, so measuring
    /// an array that holds the same large value many times costs no more than the cap.
    /// </summary>
    public static long Measure(FluidValue value, long cap)
    {
        long size = 0;
        var pending = new Stack<FluidValue>();
        pending.Push(value);
        while (pending.Count > 0 && size <= cap)
        {
            switch (pending.Pop())
            {
                case StringValue text:
                    size += text.ToStringValue().Length;
                    break;
                case ArrayValue array:
                    size += (long)array.Values.Count * ElementWeight;
                    foreach (var item in array.Values)
                    {
                        pending.Push(item);
                    }

                    break;
                case DictionaryValue dictionary when dictionary.ToObjectValue() is IFluidIndexable members:
                    size += (long)members.Count * ElementWeight;
                    foreach (var key in members.Keys)
                    {
                        size += key.Length;
                        if (members.TryGetValue(key, out var member))
                        {
                            pending.Push(member);
                        }
                    }

                    break;
                case NilValue:
                    break;
                case var other:
                    size += other.ToStringValue().Length;
                    break;
            }
        }

        return size;
    }
}
