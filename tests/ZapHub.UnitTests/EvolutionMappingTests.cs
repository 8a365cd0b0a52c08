using System.Text.Json;
using ZapHub.Gateways;
using ZapHub.Gateways.Evolution;

namespace ZapHub.UnitTests;

/// <summary>Evolution API v2 → ZapHub, value by value, against shared/contracts/evolution-api-v2.md and its captured fixtures.</summary>
public class EvolutionMappingTests
{
    [Theory]
    [InlineData("open", 200, SessionState.Connected, null)]
    [InlineData("connecting", 200, SessionState.Starting, null)]
    [InlineData("refused", 428, SessionState.Disconnected, SessionReasons.QrLimit)]
    [InlineData("close", 401, SessionState.Disconnected, SessionReasons.LoggedOut)]
    [InlineData("close", 403, SessionState.Failed, SessionReasons.Banned)]
    [InlineData("close", 402, SessionState.Failed, SessionReasons.Banned)]
    [InlineData("close", 406, SessionState.Failed, SessionReasons.Banned)]
    [InlineData("close", 408, SessionState.Disconnected, SessionReasons.ConnectionLost)]
    [InlineData("close", 428, SessionState.Disconnected, SessionReasons.ConnectionLost)]
    [InlineData("close", 440, SessionState.Disconnected, SessionReasons.ConnectionLost)]
    [InlineData("close", 500, SessionState.Disconnected, SessionReasons.ConnectionLost)]
    [InlineData("close", 503, SessionState.Disconnected, SessionReasons.ConnectionLost)]
    [InlineData("close", 515, SessionState.Disconnected, SessionReasons.ConnectionLost)]
    public void ConnectionStates(string state, int reason, SessionState expected, string? expectedReason)
    {
        var signal = EvolutionMapping.Connection("connection.update", state, reason);
        Assert.Equal(expected, signal.State);
        Assert.Equal(expectedReason, signal.Reason);
    }

    [Theory]
    [InlineData("""{"event":"connection.update","instance":"a","data":{"state":[1,2],"statusReason":"x"}}""")]
    [InlineData("""{"event":"connection.update","instance":"a","data":{"statusReason":200}}""")]
    [InlineData("""{"event":"connection.update","instance":"a","data":{"state":""}}""")]
    [InlineData("""{"event":"connection.update","instance":"a","data":{"state":"\ud800"}}""")]
    public void AConnectionUpdateWithoutAReadableStateChangesNothing(string body)
    {
        using var json = System.Text.Json.JsonDocument.Parse(body);
        Assert.All(EvolutionMapping.Parse(json.RootElement), s => Assert.IsNotType<StateSignal>(s));
    }

    [Fact]
    public void OpenCarriesThePhoneAndProfileName()
    {
        var signal = EvolutionMapping.Connection("connection.update", "open", 200, "5511900000000@s.whatsapp.net", "Sim Business");
        Assert.Equal("+5511900000000", signal.Phone);
        Assert.Equal("Sim Business", signal.ProfileName);
    }

    [Theory]
    [InlineData("ERROR", AckLevel.Failed)]
    [InlineData("PENDING", AckLevel.Pending)]
    [InlineData("SERVER_ACK", AckLevel.Sent)]
    [InlineData("DELIVERY_ACK", AckLevel.Delivered)]
    [InlineData("READ", AckLevel.Read)]
    [InlineData("PLAYED", AckLevel.Played)]
    [InlineData("DELETED", AckLevel.Failed)]
    [InlineData(null, AckLevel.Failed)]
    public void ReceiptStatuses(string? status, AckLevel expected) => Assert.Equal(expected, EvolutionMapping.Ack(status));

    [Theory]
    [InlineData("5511988887777@s.whatsapp.net", "+5511988887777")]
    [InlineData("5511988887777:12@s.whatsapp.net", "+5511988887777")]
    [InlineData("120363012345678901@g.us", "120363012345678901@g.us")]
    [InlineData("123456789012345@lid", "123456789012345@lid")]
    [InlineData(null, null)]
    public void JidsBecomePhonesWhenTheyArePhones(string? jid, string? expected) => Assert.Equal(expected, EvolutionMapping.PhoneFromJid(jid));

    public static TheoryData<string, string, string> Fixtures()
    {
        var data = new TheoryData<string, string, string>();
        foreach (var line in File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Fixtures", "evolution-webhooks.jsonl")))
        {
            var body = JsonDocument.Parse(line).RootElement.GetProperty("body");
            var evt = body.GetProperty("event").GetString()!;
            var expected = evt switch
            {
                "connection.update" => body.GetProperty("data").GetProperty("state").GetString() switch
                {
                    "open" => "State:Connected",
                    "connecting" => "State:Starting",
                    "refused" => "State:Disconnected",
                    _ => "State:Disconnected",
                },
                "qrcode.updated" => body.GetProperty("data").TryGetProperty("qrcode", out _) ? "Qr" : "State:Disconnected",
                "logout.instance" or "status.instance" or "instance.delete" or "remove.instance" => "State:Disconnected",
                "messages.update" => "Ack",
                "messages.upsert" => "Inbound",
                _ => "Ignored",
            };
            data.Add(evt, body.GetRawText(), expected);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Fixtures))]
    public void CapturedWebhooksParseToTheExpectedSignal(string evt, string json, string expected)
    {
        var signal = Assert.Single(EvolutionMapping.Parse(JsonDocument.Parse(json).RootElement));
        var actual = signal switch
        {
            StateSignal s => "State:" + s.State,
            QrSignal => "Qr",
            AckSignal => "Ack",
            InboundSignal => "Inbound",
            _ => "Ignored",
        };
        Assert.True(expected == actual, $"{evt}: expected {expected}, got {actual}");
    }

    [Fact]
    public void AnInboundMessageKeepsSenderNameAndText()
    {
        var line = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Fixtures", "evolution-webhooks.jsonl")).First(l => l.Contains("messages.upsert"));
        var inbound = Assert.IsType<InboundSignal>(Assert.Single(EvolutionMapping.Parse(JsonDocument.Parse(line).RootElement.GetProperty("body"))));
        Assert.Equal("+5511988887777", inbound.From);
        Assert.Equal("Maria", inbound.PushName);
        Assert.Equal("Oi, tudo bem?", inbound.Text);
    }

    [Fact]
    public void TheQrLimitVariantEndsTheAttempt()
    {
        var body = JsonDocument.Parse("""{"event":"qrcode.updated","instance":"sim2","data":{"message":"QR code limit reached, please login again","statusCode":500}}""").RootElement;
        var signal = Assert.IsType<StateSignal>(Assert.Single(EvolutionMapping.Parse(body)));
        Assert.Equal(SessionReasons.QrLimit, signal.Reason);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("""{"event":"connection.update","data":null}""")]
    [InlineData("""{"event":"messages.update","data":{"status":"READ"}}""")]
    [InlineData("""{"event":"messages.upsert","data":{"key":{"fromMe":true,"id":"x"}}}""")]
    [InlineData("""{"event":42,"data":[1,2]}""")]
    [InlineData("""{"event":"presence.update","data":{}}""")]
    public void OddButValidJsonIsIgnoredNotThrown(string json) =>
        Assert.IsType<IgnoredSignal>(Assert.Single(EvolutionMapping.Parse(JsonDocument.Parse(json).RootElement)));

    [Theory]
    [InlineData("""{"event":"connection.update","instance":"a","data":{"instance":"a","state":"connecting","statusReason":200},"date_time":"2026-11-30T10:00:00.001Z"}""", "connecting:200")]
    [InlineData("""{"event":"connection.update","instance":"a","data":{"instance":"a","state":"open","statusReason":200}}""", null)]
    [InlineData("""{"event":"messages.upsert","instance":"a","data":{"message":{"conversation":"\"connecting\""}}}""", null)]
    [InlineData("{\"event\":\"connection.update\",\"data\":{\"state\":\"connecting\"", null)]
    public void OnlyTheConnectingLoopRepeats(string body, string? key) =>
        Assert.Equal(key, EvolutionMapping.RepeatKey(System.Text.Encoding.UTF8.GetBytes(body)));
}
