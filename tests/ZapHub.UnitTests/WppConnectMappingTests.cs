using System.Text.Json;
using ZapHub.Gateways;
using ZapHub.Gateways.WppConnect;

namespace ZapHub.UnitTests;

/// <summary>WPPConnect Server → ZapHub, value by value, against shared/contracts/wppconnect-server.md.</summary>
public class WppConnectMappingTests
{
    [Theory]
    [InlineData("INITIALIZING", SessionState.Starting)]
    [InlineData("QRCODE", SessionState.AwaitingScan)]
    [InlineData("qrcode", SessionState.AwaitingScan)]
    [InlineData("PHONECODE", SessionState.AwaitingScan)]
    [InlineData("phoneCode", SessionState.AwaitingScan)]
    [InlineData("CONNECTED", SessionState.Connected)]
    [InlineData("CLOSED", SessionState.Disconnected)]
    [InlineData(null, SessionState.Disconnected)]
    public void SessionStatuses(string? status, SessionState expected) => Assert.Equal(expected, WppConnectMapping.Status("status-session", status).State);

    [Theory]
    [InlineData("notLogged", SessionState.Starting, null)]
    [InlineData("qrReadSuccess", SessionState.Pairing, null)]
    [InlineData("isLogged", SessionState.Pairing, null)]
    [InlineData("inChat", SessionState.Connected, null)]
    [InlineData("autocloseCalled", SessionState.Disconnected, SessionReasons.QrExpired)]
    [InlineData("disconnectedMobile", SessionState.Disconnected, SessionReasons.UnlinkedFromPhone)]
    [InlineData("serverClose", SessionState.Disconnected, SessionReasons.ServerClosed)]
    public void StatusFindValuesThatChangeTheState(string value, SessionState expected, string? reason)
    {
        var signal = WppConnectMapping.StatusFind(value);
        Assert.NotNull(signal);
        Assert.Equal(expected, signal.State);
        Assert.Equal(reason, signal.Reason);
    }

    [Theory]
    [InlineData("browserClose")]
    [InlineData("phoneNotConnected")]
    [InlineData("qrReadError")]
    [InlineData("qrReadFail")]
    [InlineData("somethingNew")]
    public void StatusFindValuesThatDoNotChangeTheServersStatus(string value) => Assert.Null(WppConnectMapping.StatusFind(value));

    [Theory]
    [InlineData(-7, AckLevel.Failed)]
    [InlineData(-6, AckLevel.Failed)]
    [InlineData(-5, AckLevel.Failed)]
    [InlineData(-4, AckLevel.Failed)]
    [InlineData(-3, AckLevel.Failed)]
    [InlineData(-2, AckLevel.Failed)]
    [InlineData(-1, AckLevel.Failed)]
    [InlineData(0, AckLevel.Pending)]
    [InlineData(1, AckLevel.Sent)]
    [InlineData(2, AckLevel.Delivered)]
    [InlineData(3, AckLevel.Read)]
    [InlineData(4, AckLevel.Played)]
    [InlineData(5, AckLevel.Sent)]
    public void AckValues(int ack, AckLevel expected) => Assert.Equal(expected, WppConnectMapping.Ack(ack));

    [Fact]
    public void OnAckCorrelatesByTheSerializedIdObject()
    {
        var body = """{"event":"onack","session":"s","id":{"fromMe":true,"remote":"5511999999999@c.us","id":"86A2","_serialized":"true_5511999999999@c.us_86A2"},"ack":3}""";
        var ack = Assert.IsType<AckSignal>(Assert.Single(WppConnectMapping.Parse(JsonDocument.Parse(body).RootElement)));
        Assert.Equal("true_5511999999999@c.us_86A2", ack.ProviderMessageId);
        Assert.Equal(AckLevel.Read, ack.Level);
    }

    [Fact]
    public void OnMessageHasAStringIdAndTheSender()
    {
        var body = """{"event":"onmessage","session":"s","id":"false_5511988887777@c.us_3A1B","body":"Hello","type":"chat","t":1718901986,"notifyName":"Alice","from":"5511988887777@c.us","fromMe":false,"isMedia":false}""";
        var inbound = Assert.IsType<InboundSignal>(Assert.Single(WppConnectMapping.Parse(JsonDocument.Parse(body).RootElement)));
        Assert.Equal("false_5511988887777@c.us_3A1B", inbound.ProviderMessageId);
        Assert.Equal("+5511988887777", inbound.From);
        Assert.Equal("Alice", inbound.PushName);
        Assert.Equal("Hello", inbound.Text);
    }

    [Theory]
    [InlineData("""{"event":"qrcode","session":"s","qrcode":"iVBORw0KGgo","urlcode":"2@abc"}""", "2@abc", null)]
    [InlineData("""{"event":"phoneCode","session":"s","phoneCode":"ABCD1234","phone":"5511999999999"}""", null, "ABCD1234")]
    public void CodesToShow(string json, string? code, string? pairing)
    {
        var qr = Assert.IsType<QrSignal>(Assert.Single(WppConnectMapping.Parse(JsonDocument.Parse(json).RootElement)));
        Assert.Equal(code, qr.Code);
        Assert.Equal(pairing, qr.PairingCode);
        if (code is not null) Assert.Equal("data:image/png;base64,iVBORw0KGgo", qr.ImageDataUrl);
    }

    [Theory]
    [InlineData("closesession", SessionReasons.Closed)]
    [InlineData("logoutsession", SessionReasons.LoggedOut)]
    public void SessionEnds(string evt, string reason)
    {
        var signal = Assert.IsType<StateSignal>(Assert.Single(WppConnectMapping.Parse(JsonDocument.Parse($$"""{"event":"{{evt}}","session":"s","connected":false}""").RootElement)));
        Assert.Equal(SessionState.Disconnected, signal.State);
        Assert.Equal(reason, signal.Reason);
    }

    [Theory]
    [InlineData("""{"event":"onpresencechanged","session":"s","id":"5511@c.us","isOnline":true}""")]
    [InlineData("""{"event":"onack","session":"s"}""")]
    [InlineData("""{"event":"onmessage","fromMe":true,"id":"x"}""")]
    [InlineData("{}")]
    public void EventsZapHubDoesNotUseAreIgnored(string json) =>
        Assert.IsType<IgnoredSignal>(Assert.Single(WppConnectMapping.Parse(JsonDocument.Parse(json).RootElement)));
}
