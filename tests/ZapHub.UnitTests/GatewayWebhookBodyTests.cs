using System.Text;
using ZapHub.Features.GatewayWebhooks;

namespace ZapHub.UnitTests;

/// <summary>The receiver accepts one JSON object per request and takes Evolution's top-level date_time for the dedupe key.</summary>
public class GatewayWebhookBodyTests
{
    [Theory]
    [InlineData("""{"event":"messages.update","date_time":"2026-11-23T10:00:00.000Z"}""", "2026-11-23T10:00:00.000Z")]
    [InlineData("""{"data":{"date_time":"nested, not the envelope's"},"event":"x"}""", null)]
    [InlineData("""{"date_time":1700000000}""", null)]
    [InlineData("""{"data":[1,{"a":"b"}],"date_time":"t"}  """ + "\n", "t")]
    [InlineData("""{}""", null)]
    [InlineData("""{"date_time":"\ud800"}""", null)]
    public void AnObjectIsAcceptedWithItsOwnTime(string body, string? expected)
    {
        Assert.True(GatewayWebhookEndpoint.TryReadSentAt(Encoding.UTF8.GetBytes(body), out var sentAt));
        Assert.Equal(expected, sentAt);
    }

    [Theory]
    [InlineData("")]
    [InlineData("[]")]
    [InlineData("\"text\"")]
    [InlineData("""{"event":"cut short""")]
    [InlineData("""{"a":1}{"b":2}""")]
    [InlineData("""{"a":1} trailing""")]
    [InlineData("""{"a":01}""")]
    [InlineData("\u00ff\u00fe")]
    public void AnythingElseIsRefused(string body) =>
        Assert.False(GatewayWebhookEndpoint.TryReadSentAt(Encoding.UTF8.GetBytes(body), out _));

    [Fact]
    public void AnInvalidUtf8TimeIsNoTimeAndTheObjectIsStillAccepted()
    {
        var body = Encoding.UTF8.GetBytes("""{"date_time":"X"}""");
        body[14] = 0xC3; // a lone lead byte: not UTF-8
        Assert.True(GatewayWebhookEndpoint.TryReadSentAt(body, out var sentAt));
        Assert.Null(sentAt);
    }

    [Fact]
    public void TheProvidersSecretFieldsAreMaskedInTheTextToStoreAndNothingElseChanges()
    {
        var body = """{"event":"messages.update","instance":"zh1","data":{"apikey":"nested stays"},"destination":"http://h/hooks/gateway/abc/s3cr3t","date_time":"t","apikey":"6F39BC7B-8141","sender":"x"}""";
        Assert.True(GatewayWebhookEndpoint.TryRead(Encoding.UTF8.GetBytes(body), ["apikey", "destination"], out var sentAt, out var stored));
        Assert.Equal("t", sentAt);
        Assert.Equal("""{"event":"messages.update","instance":"zh1","data":{"apikey":"nested stays"},"destination":"***","date_time":"t","apikey":"***","sender":"x"}""", stored);
    }

    [Theory]
    [InlineData("""{"apikey":null,"destination":"ação \u00e9 \"x\""}""", """{"apikey":null,"destination":"***"}""")]
    [InlineData("""{"event":"x"}""", """{"event":"x"}""")]
    public void MaskingKeepsTheBodyValidJson(string body, string expected)
    {
        Assert.True(GatewayWebhookEndpoint.TryRead(Encoding.UTF8.GetBytes(body), ["apikey", "destination"], out _, out var stored));
        Assert.Equal(expected, stored);
        System.Text.Json.JsonDocument.Parse(stored).Dispose();
    }
}
