using ZapHub.Gateways;
using ZapHub.Platform;

namespace ZapHub.Features.Messages;

/// <summary>
/// What a failed send means for its message, decided from the failure alone (<see cref="GatewayFailureOutcome"/>), the
/// attempt, the tenant's rules and the clock: transient trouble retries with growing, jittered delays; a number that is
/// down (or a gateway the operator must fix) holds the message, for the tenant's hold time at most; a number WhatsApp
/// does not know fails at once; a rate-limited number also rests. Pure, like <see cref="Governor"/>.
/// </summary>
public static class SendPolicy
{
    public static SendOutcome Classify(GatewayException ex, int attempt, DateTime? heldSince, MessagingSettings settings, MessagingOptions o, DateTime now, Random random)
    {
        var meaning = GatewayFailureOutcome.Of(ex);
        var category = meaning.SendCategory;
        var retryable = meaning.OnSend != OnSend.Fail;
        var reason = ex.Failure == GatewayFailure.InvalidNumber ? "The number is not on WhatsApp." : ex.Message;
        if (reason.Length > 280) reason = reason[..280];
        if (meaning.OnSend == OnSend.Hold)
            return now - (heldSince ?? now) >= TimeSpan.FromMinutes(settings.HoldMinutes)
                ? new SendOutcome(null, "expired", reason, false) { Explained = Note.Of("send_expired", ("detail", reason), ("minutes", settings.HoldMinutes)).Store() }
                : new SendOutcome(null, category, reason, true, now + o.HoldRecheck, null, Hold: true);
        DateTime? pause = ex.Failure == GatewayFailure.RateLimited ? now + o.RateLimitPause : null;
        if (!retryable || attempt >= settings.MaxAttempts)
            return new SendOutcome(null, category, reason, false, null, pause)
            {
                Explained = retryable ? Note.Of("send_gave_up", ("attempts", attempt), ("category", Note.Key("mcat." + category)), ("detail", reason)).Store() : null,
            };
        return new SendOutcome(null, category, reason, true, (pause ?? now) + RetryDelay(attempt, o, random), pause);
    }

    /// <summary>The wait after failed attempt <paramref name="attempt"/>: the base delay doubled per attempt, capped, ±20 %.</summary>
    public static TimeSpan RetryDelay(int attempt, MessagingOptions o, Random random)
    {
        var delay = o.RetryBaseDelay * Math.Pow(2, Math.Min(attempt - 1, 16));
        if (delay > o.RetryMaxDelay) delay = o.RetryMaxDelay;
        return delay * (0.8 + random.NextDouble() * 0.4);
    }

    /// <summary>The timeline's line for an attempt's end, in each reader's language.</summary>
    public static string Detail(SendOutcome outcome, int attempt, string number, double milliseconds, int holdMinutes)
    {
        var category = Note.Key("mcat." + outcome.Category);
        return (outcome.Sent
            ? Note.Of("attempt_sent", ("attempt", attempt), ("number", number), ("ms", Math.Round(milliseconds)))
            : outcome.Hold
            ? Note.Of("held_refused", ("number", number), ("reason", outcome.Reason), ("category", category), ("minutes", holdMinutes))
            : outcome.Retry
            ? Note.Of("attempt_failed_retry", ("attempt", attempt), ("number", number), ("reason", outcome.Reason), ("category", category), ("retryAt", $"{outcome.RetryAt:HH:mm:ss}"))
            : Note.Of("attempt_failed", ("attempt", attempt), ("number", number), ("reason", outcome.Reason), ("category", category))).Store();
    }

    /// <summary>The outcome's name in logs and metrics.</summary>
    public static string Name(SendOutcome outcome) => outcome.Sent ? "sent" : outcome.Hold ? "held" : outcome.Retry ? "retry" : "failed";
}
