namespace Outbox.Core.Dispatch;

/// <summary>Exponential backoff with jitter, so mails that failed together do not retry together.</summary>
public sealed class RetryPolicy
{
    private readonly DispatchOptions _options;
    private readonly Random _random;

    public RetryPolicy(DispatchOptions options, Random random)
    {
        _options = options;
        _random = random;
    }

    /// <summary>The delay after the given attempt (1 = the first): half fixed, half random.</summary>
    public TimeSpan DelayAfter(int attempt)
    {
        var exponent = Math.Clamp(attempt - 1, 0, 30);
        var full = Math.Min(_options.RetryBaseDelay.TotalSeconds * Math.Pow(2, exponent), _options.RetryMaxDelay.TotalSeconds);
        return TimeSpan.FromSeconds((full / 2) + (_random.NextDouble() * full / 2));
    }

    public bool IsLastAttempt(int attempt) => attempt >= _options.MaxAttempts;
}
