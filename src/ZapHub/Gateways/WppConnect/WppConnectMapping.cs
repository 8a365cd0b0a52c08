using System.Text.Json;

namespace ZapHub.Gateways.WppConnect;

/// <summary>
/// WPPConnect Server statuses and webhook events → ZapHub's states (contract: shared/contracts/wppconnect-server.md
/// §2–3). Unit-tested value by value.
/// </summary>
public static class WppConnectMapping
{
    /// <summary>status-session / start-session `status`. There is no PAIRING status: the pairing-code state is PHONECODE.</summary>
    public static StateSignal Status(string rawEvent, string? status) => status switch
    {
        "INITIALIZING" => new StateSignal(rawEvent, SessionState.Starting, status),
        "QRCODE" or "qrcode" => new StateSignal(rawEvent, SessionState.AwaitingScan, status),
        "PHONECODE" or "phoneCode" => new StateSignal(rawEvent, SessionState.AwaitingScan, status),
        "CONNECTED" => new StateSignal(rawEvent, SessionState.Connected, status),
        _ => new StateSignal(rawEvent, SessionState.Disconnected, status ?? "null", SessionReasons.Closed), // CLOSED or null
    };

    /// <summary>status-find values (wppconnect's StatusFind enum). Null means "no state change": only a note in the log.</summary>
    public static StateSignal? StatusFind(string value) => value switch
    {
        "notLogged" => new StateSignal("status-find", SessionState.Starting, value),
        "qrReadSuccess" => new StateSignal("status-find", SessionState.Pairing, value),
        "isLogged" => new StateSignal("status-find", SessionState.Pairing, value),
        // No webhook says CONNECTED; inChat is the connected signal.
        "inChat" => new StateSignal("status-find", SessionState.Connected, value),
        "autocloseCalled" => new StateSignal("status-find", SessionState.Disconnected, value, SessionReasons.QrExpired),
        "disconnectedMobile" => new StateSignal("status-find", SessionState.Disconnected, value, SessionReasons.UnlinkedFromPhone),
        "serverClose" => new StateSignal("status-find", SessionState.Disconnected, value, SessionReasons.ServerClosed),
        // The server does not change its status for these; the reconciler reads the real one.
        "browserClose" or "phoneNotConnected" or "qrReadError" or "qrReadFail" => null,
        _ => null,
    };

    public static AckLevel Ack(long ack) => ack switch
    {
        < 0 => AckLevel.Failed,
        0 => AckLevel.Pending,
        1 => AckLevel.Sent,
        2 => AckLevel.Delivered,
        3 => AckLevel.Read,
        4 => AckLevel.Played,
        _ => AckLevel.Sent, // 5 PEER: delivered to our own other device
    };

    public static IReadOnlyList<GatewaySignal> Parse(JsonElement body)
    {
        var evt = JsonFields.Str(body, "event") ?? "";
        switch (evt)
        {
            case "status-find":
                return StatusFind(JsonFields.Str(body, "status") ?? "") is { } s ? [s] : [new IgnoredSignal(evt)];
            case "qrcode":
                var png = JsonFields.Str(body, "qrcode");
                return [new QrSignal(evt, JsonFields.Str(body, "urlcode"), png is null ? null : "data:image/png;base64," + png, null)];
            case "phoneCode":
                return [new QrSignal(evt, null, null, JsonFields.Str(body, "phoneCode"))];
            case "closesession":
                return [new StateSignal(evt, SessionState.Disconnected, "closesession", SessionReasons.Closed)];
            case "logoutsession":
                return [new StateSignal(evt, SessionState.Disconnected, "logoutsession", SessionReasons.LoggedOut)];
            case "onack":
                // Here `id` is an object; in onmessage it is a string.
                var id = body.TryGetProperty("id", out var idEl) && idEl.ValueKind == JsonValueKind.Object ? JsonFields.Str(idEl, "_serialized") : JsonFields.Str(body, "id");
                var ack = JsonFields.Int(body, "ack");
                return id is null || ack is null ? [new IgnoredSignal(evt)] : [new AckSignal(evt, id, Ack(ack.Value))];
            case "onmessage" when !(body.TryGetProperty("fromMe", out var fm) && fm.ValueKind == JsonValueKind.True):
                var type = JsonFields.Str(body, "type");
                var isMedia = body.TryGetProperty("isMedia", out var m) && m.ValueKind == JsonValueKind.True || JsonFields.Str(body, "mimetype") is not null;
                var pushName = JsonFields.Str(body, "notifyName")
                    ?? (body.TryGetProperty("sender", out var sender) ? JsonFields.Str(sender, "pushname") : null);
                var t = JsonFields.Int(body, "t") ?? JsonFields.Int(body, "timestamp");
                return [new InboundSignal(evt, JsonFields.Str(body, "id") ?? "", Evolution.EvolutionMapping.PhoneFromJid(JsonFields.Str(body, "from")) ?? "",
                    pushName, isMedia ? JsonFields.Str(body, "caption") : JsonFields.Str(body, "body"), isMedia ? type : null,
                    t is { } ts ? DateTimeOffset.FromUnixTimeSeconds(ts) : DateTimeOffset.UtcNow)];
            default:
                return [new IgnoredSignal(evt)];
        }
    }
}
