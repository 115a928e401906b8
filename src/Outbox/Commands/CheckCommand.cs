using System.CommandLine;
using Outbox.Core.Sending;
using Outbox.Core.Validation;

namespace Outbox.Commands;

/// <summary>`outbox check smtp`: connects as the worker would and says, step by step, whether mail would go out and why not.</summary>
public static class CheckCommand
{
    public static Command Create(CliContext context)
    {
        var from = new Option<string?>("--from")
        {
            Description = "A sender to try with MAIL FROM (then RSET; nothing is sent). Default: Outbox:Smtp:UserName when it is an address",
        };
        var smtp = new Command("smtp", "Connect to the SMTP server as the worker would: DNS, TCP, STARTTLS, certificate chain, AUTH, MAIL FROM; exit 0 only when mail would go out")
        {
            context.JsonOutput,
            from,
        };
        smtp.SetAction((parse, cancellationToken) => context.RunAsync(parse, async options =>
        {
            if (!options.Transport.Trim().Equals("smtp", StringComparison.OrdinalIgnoreCase))
            {
                throw new MailValidationException("Outbox:Transport", $"is {options.Transport}, so no SMTP server is used", "Set it to smtp to check a server");
            }

            var sender = parse.GetValue(from) ?? (options.Smtp.UserName?.Contains('@', StringComparison.Ordinal) == true ? options.Smtp.UserName : null);
            if (sender is not null)
            {
                MailAddressRules.CheckAddress("--from", sender);
            }

            var (steps, wouldSend) = await new SmtpCheck(options.Smtp, sender).RunAsync(cancellationToken).ConfigureAwait(false);
            var verdict = wouldSend
                ? $"mail would go out through {options.Smtp.Host}:{options.Smtp.Port}"
                : $"mail would NOT go out: {steps.Last(s => !s.Ok).Detail}";
            if (parse.GetValue(context.JsonOutput))
            {
                context.WriteJson(new { steps, wouldSend, verdict });
            }
            else
            {
                foreach (var step in steps)
                {
                    await context.Out.WriteLineAsync($"{(step.Ok ? "ok  " : "FAIL")} {step.Step,-16} {step.Detail}").ConfigureAwait(false);
                }

                await context.Out.WriteLineAsync($"verdict: {verdict}").ConfigureAwait(false);
            }

            return wouldSend ? 0 : 1;
        }));
        return new Command("check", "Diagnostics") { smtp };
    }
}
