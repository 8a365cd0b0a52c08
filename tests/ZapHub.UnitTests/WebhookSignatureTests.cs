using System.Net;
using System.Text;
using ZapHub.Features.Events;

namespace ZapHub.UnitTests;

public class WebhookSignatureTests
{
    // The Standard Webhooks specification's published test vector: any receiver library must accept what ZapHub signs.
    private const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string Id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private const long Timestamp = 1614265330;
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("{\"test\": 2432232314}");

    [Fact]
    public void SigningReproducesTheSpecificationsTestVector() =>
        Assert.Equal("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", WebhookSignature.Sign(WebhookSignature.Key(Secret), Id, Timestamp, Body));

    [Fact]
    public void VerificationAcceptsAnyOfSeveralSignaturesAndRejectsTampering()
    {
        var key = WebhookSignature.Key(Secret);
        var other = WebhookSignature.Key(WebhookSignature.NewSecret());
        var header = $"{WebhookSignature.Sign(other, Id, Timestamp, Body)} v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
        Assert.True(WebhookSignature.Verify(key, Id, Timestamp, Body, header));
        Assert.False(WebhookSignature.Verify(key, Id, Timestamp + 1, Body, header));
        Assert.False(WebhookSignature.Verify(key, "msg_other", Timestamp, Body, header));
        Assert.False(WebhookSignature.Verify(key, Id, Timestamp, Encoding.UTF8.GetBytes("{\"test\": 2432232315}"), header));
    }

    [Fact]
    public void NewSecretsAreStandardWebhooksSecretsOf32RandomBytes()
    {
        var a = WebhookSignature.NewSecret();
        Assert.StartsWith("whsec_", a);
        Assert.Equal(32, WebhookSignature.Key(a).Length);
        Assert.NotEqual(a, WebhookSignature.NewSecret());
    }

    [Theory]
    [InlineData("127.0.0.1", "loopback", null)]
    [InlineData("10.1.2.3", "private", null)]
    [InlineData("172.20.0.1", "private", null)]
    [InlineData("192.168.1.1", "private", null)]
    [InlineData("100.64.0.1", "cgnat", null)]
    [InlineData("169.254.169.254", "cloud_metadata", "cloud_metadata")]
    [InlineData("169.254.10.10", "link_local", "link_local")]
    [InlineData("0.0.0.0", "unspecified", "unspecified")]
    [InlineData("::1", "loopback", null)]
    [InlineData("fd12:3456::1", "private", null)]
    [InlineData("fe80::1", "link_local", "link_local")]
    [InlineData("fd00:ec2::254", "cloud_metadata", "cloud_metadata")]
    [InlineData("::ffff:10.0.0.1", "private", null)]
    [InlineData("64:ff9b::a00:1", "private", null)]
    [InlineData("93.184.216.34", null, null)]
    [InlineData("2606:2800:220:1:248:1893:25c8:1946", null, null)]
    [InlineData("172.32.0.1", null, null)]
    public void AddressesAreJudgedWithAndWithoutPrivateTargetsAllowed(string address, string? refusedByDefault, string? refusedWhenAllowed)
    {
        Assert.Equal(refusedByDefault, WebhookTargets.Refusal(IPAddress.Parse(address), allowPrivate: false));
        Assert.Equal(refusedWhenAllowed, WebhookTargets.Refusal(IPAddress.Parse(address), allowPrivate: true));
    }
}
