using ZapHub.Features.Messages;
using ZapHub.Gateways;

namespace ZapHub.UnitTests;

/// <summary>What a failed send means for its message, at a fixed moment: retried, held, rested or failed.</summary>
public class SendPolicyTests
{
    private static readonly DateTime Now = new(2026, 12, 2, 15, 0, 0, DateTimeKind.Utc);
    private static readonly MessagingOptions Options = new();
    private static readonly MessagingSettings Settings = new() { MaxAttempts = 6, HoldMinutes = 60 };

    private static SendOutcome Classify(GatewayFailure failure, int attempt = 1, DateTime? heldSince = null, int seed = 1) =>
        SendPolicy.Classify(new GatewayException(failure, "HTTP 503 busy", 503), attempt, heldSince, Settings, Options, Now, new Random(seed));

    [Theory]
    [InlineData(1, 10)]
    [InlineData(2, 20)]
    [InlineData(3, 40)]
    [InlineData(5, 160)]
    public void TransientFailuresRetryAfterADelayThatDoublesWithJitter(int attempt, int seconds)
    {
        foreach (var seed in Enumerable.Range(0, 50))
        {
            var outcome = Classify(GatewayFailure.Transient, attempt, seed: seed);
            Assert.True(outcome.Retry);
            Assert.Equal(MessageStatus.Queued, outcome.Status);
            Assert.Equal("gateway_unavailable", outcome.Category);
            var wait = outcome.RetryAt!.Value - Now;
            Assert.InRange(wait.TotalSeconds, seconds * 0.8, seconds * 1.2);
        }
    }

    [Fact]
    public void TheDelayStopsGrowingAtTheMaximum()
    {
        var options = new MessagingOptions { RetryBaseDelay = TimeSpan.FromMinutes(10), RetryMaxDelay = TimeSpan.FromMinutes(30) };
        foreach (var seed in Enumerable.Range(0, 50))
            Assert.InRange(SendPolicy.RetryDelay(5, options, new Random(seed)).TotalMinutes, 24, 36);
    }

    [Fact]
    public void AfterTheLastAttemptATransientFailureGivesUpAndSaysHowManyWereMade()
    {
        var outcome = Classify(GatewayFailure.Transient, attempt: 6);
        Assert.False(outcome.Retry);
        Assert.Equal(MessageStatus.Failed, outcome.Status);
        Assert.Contains("send_gave_up", outcome.StatusNote);
        Assert.Contains("\"attempts\":\"6\"", outcome.StatusNote);
    }

    [Fact]
    public void ARateLimitedNumberRestsBeforeItsRetry()
    {
        var outcome = Classify(GatewayFailure.RateLimited);
        Assert.Equal(Now + Options.RateLimitPause, outcome.PauseUntil);
        Assert.True(outcome.RetryAt > outcome.PauseUntil, "the retry comes after the rest");
        Assert.Equal("rate_limited", outcome.Category);
    }

    [Fact]
    public void ANumberNotOnWhatsAppFailsAtOnceWithAReasonAPersonCanRead()
    {
        var outcome = Classify(GatewayFailure.InvalidNumber);
        Assert.False(outcome.Retry);
        Assert.Equal("invalid_number", outcome.Category);
        Assert.Equal("The number is not on WhatsApp.", outcome.Reason);
        Assert.Null(outcome.RetryAt);
    }

    [Fact]
    public void ANumberThatIsDownHoldsItsMessageUntilTheHoldTimeRunsOut()
    {
        var held = Classify(GatewayFailure.NotConnected, heldSince: Now.AddMinutes(-59));
        Assert.True(held.Hold);
        Assert.Equal(MessageStatus.Held, held.Status);
        Assert.Equal(Now + Options.HoldRecheck, held.RetryAt);

        var expired = Classify(GatewayFailure.NotConnected, heldSince: Now.AddMinutes(-60));
        Assert.False(expired.Retry);
        Assert.Equal("expired", expired.Category);
        Assert.Contains("send_expired", expired.StatusNote);
    }

    [Theory]
    [InlineData(GatewayFailure.Auth)]
    [InlineData(GatewayFailure.InstanceMissing)]
    public void WhatOnlyAPersonCanFixHoldsInsteadOfUsingUpAttempts(GatewayFailure failure)
    {
        var outcome = Classify(failure, attempt: 6);
        Assert.True(outcome.Hold, "a gateway or number problem holds the message, whatever the attempt");
    }

    [Fact]
    public void TheTimelineSaysWhenTheRetryIs()
    {
        var outcome = Classify(GatewayFailure.Transient);
        var detail = SendPolicy.Detail(outcome, 1, "Recepção", 120, 60);
        Assert.Contains("attempt_failed_retry", detail);
        Assert.Contains($"{outcome.RetryAt:HH:mm:ss}", detail);
        Assert.Equal("retry", SendPolicy.Name(outcome));
    }
}
