using ZapHub.Gateways;

namespace ZapHub.UnitTests;

/// <summary>One meaning per gateway failure, for the person who sees it and for the send it happened to.</summary>
public class GatewayFailureOutcomeTests
{
    [Theory]
    [InlineData(GatewayFailure.Transient, 503, OnSend.Retry, false)]
    [InlineData(GatewayFailure.RateLimited, 503, OnSend.Retry, false)]
    [InlineData(GatewayFailure.Auth, 502, OnSend.Hold, false)]
    [InlineData(GatewayFailure.Configuration, 502, OnSend.Hold, false)]
    [InlineData(GatewayFailure.NotConnected, 409, OnSend.Hold, true)]
    [InlineData(GatewayFailure.InstanceMissing, 409, OnSend.Hold, true)]
    [InlineData(GatewayFailure.InvalidNumber, 400, OnSend.Fail, false)]
    [InlineData(GatewayFailure.Permanent, 502, OnSend.Fail, false)]
    [InlineData(GatewayFailure.NotStopped, 502, OnSend.Retry, false)]
    public void EachFailureHasOneMeaning(GatewayFailure failure, int status, OnSend onSend, bool numberDown)
    {
        var outcome = GatewayFailureOutcome.Of(new GatewayException(failure, "detail"));
        Assert.Equal((status, onSend, numberDown), (outcome.Status, outcome.OnSend, outcome.NumberDown));
        Assert.False(string.IsNullOrWhiteSpace(outcome.ProblemCode));
        Assert.False(string.IsNullOrWhiteSpace(outcome.SendCategory));
    }

    [Fact]
    public void NoFailureButPermanentFallsToTheGenericMeaning() =>
        Assert.Equal([GatewayFailure.Permanent], Enum.GetValues<GatewayFailure>().Where(f => GatewayFailureOutcome.Of(new GatewayException(f, "x")).ProblemCode == "gateway_error"));
}

public class LogSafeTests
{
    [Theory]
    [InlineData("/hooks/gateway/01a2355b-0181-794c-b657-0a74516f6d80/8arC0qqgLeYcW85", "/hooks/gateway/01a2355b-0181-794c-b657-0a74516f6d80/***")]
    [InlineData("POST http://h/hooks/gateway/abc/s3cr3t/messages-upsert?x=1", "POST http://h/hooks/gateway/abc/***/messages-upsert?x=1")]
    [InlineData("found for the request path '/hooks/gateway/abc/s3cr3t'", "found for the request path '/hooks/gateway/abc/***'")]
    [InlineData("/api/v1/sessions/abc", "/api/v1/sessions/abc")]
    public void AWebhookPathLosesItsSecret(string text, string logged) => Assert.Equal(logged, ZapHub.Platform.LogSafe.Mask(text));
}
