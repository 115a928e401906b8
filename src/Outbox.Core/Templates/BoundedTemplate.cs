using System.Text.Encodings.Web;
using Fluid;
using Fluid.Ast;
using Fluid.Ast.BinaryExpressions;
using Fluid.Values;

namespace Outbox.Core.Templates;

/// <summary>
/// Rewrites a parsed template so that what Fluid counts as one step whatever its size is charged
/// by its size (<see cref="RenderBudget"/>): a range is refused before it is made, a capture is
/// bounded as it is written, and a comparison pays for the values it compares.
/// </summary>
internal sealed class BoundedTemplate : AstRewriter
{
    public static readonly BoundedTemplate Instance = new();

    private const long Cap = TemplateLimits.MaxRenderedLength;

    protected override Expression VisitRangeExpression(RangeExpression rangeExpression) => new BoundedRange(rangeExpression);

    protected override Statement VisitCaptureStatement(CaptureStatement captureStatement)
    {
        var capture = (CaptureStatement)base.VisitCaptureStatement(captureStatement);
        return new BoundedCapture(capture.Identifier, capture.Statements);
    }

    protected override Expression VisitEqualBinaryExpression(EqualBinaryExpression equalBinaryExpression) =>
        Compared("==", base.VisitEqualBinaryExpression(equalBinaryExpression), (l, r) => new EqualBinaryExpression(l, r));

    protected override Expression VisitNotEqualBinaryExpression(NotEqualBinaryExpression notEqualBinaryExpression) =>
        Compared("!=", base.VisitNotEqualBinaryExpression(notEqualBinaryExpression), (l, r) => new NotEqualBinaryExpression(l, r));

    protected override Expression VisitGreaterThanBinaryExpression(GreaterThanBinaryExpression greaterThanBinaryExpression) =>
        Compared(">", base.VisitGreaterThanBinaryExpression(greaterThanBinaryExpression), (l, r) => new GreaterThanBinaryExpression(l, r, greaterThanBinaryExpression.Strict));

    protected override Expression VisitLowerThanBinaryExpression(LowerThanBinaryExpression lowerThanBinaryExpression) =>
        Compared("<", base.VisitLowerThanBinaryExpression(lowerThanBinaryExpression), (l, r) => new LowerThanBinaryExpression(l, r, lowerThanBinaryExpression.Strict));

    protected override Expression VisitStartsWithBinaryExpression(StartsWithBinaryExpression startsWithBinaryExpression) =>
        Compared("startswith", base.VisitStartsWithBinaryExpression(startsWithBinaryExpression), (l, r) => new StartsWithBinaryExpression(l, r));

    protected override Expression VisitEndsWithBinaryExpression(EndsWithBinaryExpression endsWithBinaryExpression) =>
        Compared("endswith", base.VisitEndsWithBinaryExpression(endsWithBinaryExpression), (l, r) => new EndsWithBinaryExpression(l, r));

    protected override Expression VisitContainsBinaryExpression(ContainsBinaryExpression containsBinaryExpression) =>
        Compared("contains", base.VisitContainsBinaryExpression(containsBinaryExpression), (l, r) => new ContainsBinaryExpression(l, r));

    // case compares its value with each when's options: the value is paid for once per option.
    protected override Statement VisitCaseStatement(CaseStatement caseStatement)
    {
        var rewritten = (CaseStatement)base.VisitCaseStatement(caseStatement);
        var options = rewritten.Whens.Sum(when => when.Options.Count);
        return new CaseStatement(
            new Charged(rewritten.Expression, Math.Max(1, options)),
            rewritten.Else,
            rewritten.Whens.Select(when => new WhenStatement(when.Options.Select(option => (Expression)new Charged(option, 1)).ToList(), when.Statements.ToList())).ToArray());
    }

    private static ChargedComparison Compared(string name, Expression rewritten, Func<Expression, Expression, BinaryExpression> make) =>
        new ChargedComparison(name, (BinaryExpression)rewritten, make);

    // A range such as (1..100000000) is made into an array before a loop takes its first step:
    // one longer than a render may take steps is refused before it is made.
    private sealed class BoundedRange(RangeExpression range) : Expression
    {
        public override async ValueTask<FluidValue> EvaluateAsync(TemplateContext context)
        {
            var from = (await range.From.EvaluateAsync(context).ConfigureAwait(false)).ToNumberValue();
            var to = (await range.To.EvaluateAsync(context).ConfigureAwait(false)).ToNumberValue();
            if (to - from >= TemplateLimits.MaxSteps)
            {
                throw new TemplateBudgetException(null, $"the range ({from}..{to}) is longer than the {TemplateLimits.MaxSteps} steps a render may take. Loop over less");
            }

            ((RenderBudget)context).Charge("range", $"the range ({from}..{to})", (long)Math.Max(0, to - from + 1) * RenderBudget.ElementWeight);
            return await range.EvaluateAsync(context).ConfigureAwait(false);
        }
    }

    // Fluid's capture writes into a buffer without a bound and checks nothing until the block
    // ends (a loop inside it reached 3 GB): this one stops at the bound as it writes, and pays
    // for what it captured.
    private sealed class BoundedCapture(string identifier, IReadOnlyList<Statement> statements) : Statement
    {
        public override async ValueTask<Completion> WriteToAsync(TextWriter writer, TextEncoder encoder, TemplateContext context)
        {
            using var buffer = new BoundedWriter(TemplateLimits.MaxRenderedLength, identifier,
                $"capture {identifier} makes a value longer than {TemplateLimits.MaxRenderedLength} characters. Capture less");
            var completion = Completion.Normal;
            foreach (var statement in statements)
            {
                completion = await statement.WriteToAsync(buffer, encoder, context).ConfigureAwait(false);
                if (completion != Completion.Normal)
                {
                    break;
                }
            }

            var captured = buffer.ToString();
            ((RenderBudget)context).Charge(identifier, $"capture {identifier}", captured.Length);
            context.SetValue(identifier, new StringValue(captured, false));
            return completion;
        }
    }

    // Evaluates both sides once, pays for their size (and for a search, its length times that of
    // what it looks for), then compares them as Fluid would.
    private sealed class ChargedComparison(string name, BinaryExpression comparison, Func<Expression, Expression, BinaryExpression> make) : Expression
    {
        public override async ValueTask<FluidValue> EvaluateAsync(TemplateContext context)
        {
            var left = await comparison.Left.EvaluateAsync(context).ConfigureAwait(false);
            var right = await comparison.Right.EvaluateAsync(context).ConfigureAwait(false);
            var units = RenderBudget.Measure(left, Cap) + RenderBudget.Measure(right, Cap);
            if (name == "contains" && left is StringValue)
            {
                units += (long)left.ToStringValue().Length * Math.Max(1, right.ToStringValue().Length / BoundedFilters.SearchWidth);
            }

            ((RenderBudget)context).Charge(name, $"the comparison {name}", units);
            return await make(new LiteralExpression(left), new LiteralExpression(right)).EvaluateAsync(context).ConfigureAwait(false);
        }
    }

    private sealed class Charged(Expression expression, int times) : Expression
    {
        public override async ValueTask<FluidValue> EvaluateAsync(TemplateContext context)
        {
            var value = await expression.EvaluateAsync(context).ConfigureAwait(false);
            ((RenderBudget)context).Charge("case", "the case tag", RenderBudget.Measure(value, Cap) * times);
            return value;
        }
    }
}
