using System.Text;
using ZapHub.Features.GatewayWebhooks;
using ZapHub.Gateways.Evolution;

namespace ZapHub.UnitTests;

/// <summary>
/// The receiver accepts one JSON object per request and takes Evolution's top-level date_time (for the dedupe key) and
/// instance name (to refuse another instance's events) from it.
/// </summary>
public class GatewayWebhookBodyTests
{
    private static readonly EvolutionProvider Evolution = new();

    [Theory]
    [InlineData("""{"event":"messages.update","date_time":"2026-11-23T10:00:00.000Z"}""", "2026-11-23T10:00:00.000Z")]
    [InlineData("""{"data":{"date_time":"nested, not the envelope's"},"event":"x"}""", null)]
    [InlineData("""{"date_time":1700000000}""", null)]
    [InlineData("""{"data":[1,{"a":"b"}],"date_time":"t"}  """ + "\n", "t")]
    [InlineData("""{}""", null)]
    [InlineData("""{"date_time":"\ud800"}""", null)]
    public void AnObjectIsAcceptedWithItsOwnTime(string body, string? expected)
    {
        Assert.True(GatewayWebhookEndpoint.TryRead(Encoding.UTF8.GetBytes(body), Evolution, out var read));
        Assert.Equal(expected, read.SentAt);
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
        Assert.False(GatewayWebhookEndpoint.TryRead(Encoding.UTF8.GetBytes(body), Evolution, out _));

    [Fact]
    public void AnInvalidUtf8TimeIsNoTimeAndTheObjectIsStillAccepted()
    {
        var body = Encoding.UTF8.GetBytes("""{"date_time":"X"}""");
        body[14] = 0xC3; // a lone lead byte: not UTF-8
        Assert.True(GatewayWebhookEndpoint.TryRead(body, Evolution, out var read));
        Assert.Null(read.SentAt);
    }

    [Fact]
    public void TheProvidersSecretFieldsAreMaskedInTheTextToStoreAndNothingElseChanges()
    {
        var body = """{"event":"messages.update","instance":"zh1","data":{"apikey":"nested stays"},"destination":"http://h/hooks/gateway/abc/s3cr3t","date_time":"t","apikey":"6F39BC7B-8141","sender":"x"}""";
        Assert.True(GatewayWebhookEndpoint.TryRead(Encoding.UTF8.GetBytes(body), Evolution, out var read));
        Assert.Equal("t", read.SentAt);
        Assert.Equal("zh1", read.Instance);
        Assert.Equal("""{"event":"messages.update","instance":"zh1","data":{"apikey":"nested stays"},"destination":"***","date_time":"t","apikey":"***","sender":"x"}""", read.Stored);
    }

    [Theory]
    [InlineData("""{"apikey":null,"destination":"ação \u00e9 \"x\""}""", """{"apikey":null,"destination":"***"}""")]
    [InlineData("""{"event":"x"}""", """{"event":"x"}""")]
    public void MaskingKeepsTheBodyValidJson(string body, string expected)
    {
        Assert.True(GatewayWebhookEndpoint.TryRead(Encoding.UTF8.GetBytes(body), Evolution, out var read));
        Assert.Equal(expected, read.Stored);
        System.Text.Json.JsonDocument.Parse(read.Stored).Dispose();
    }
}
