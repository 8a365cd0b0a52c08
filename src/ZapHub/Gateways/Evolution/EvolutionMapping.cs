using System.Text.Json;

namespace ZapHub.Gateways.Evolution;

/// <summary>
/// Evolution API v2 states and webhook events → ZapHub's states (contract: shared/contracts/evolution-api-v2.md
/// §1.4–1.8). Unit-tested value by value.
/// </summary>
public static class EvolutionMapping
{
    /// <summary>connection.update: state open | connecting | close | refused, with Baileys DisconnectReason codes.</summary>
    public static StateSignal Connection(string rawEvent, string state, int? statusReason, string? wuid = null, string? profileName = null) => state switch
    {
        "open" => new StateSignal(rawEvent, SessionState.Connected, "open", null, PhoneFromJid(wuid), profileName),
        "connecting" => new StateSignal(rawEvent, SessionState.Starting, "connecting"),
        // refused 428 is the end of an attempt after QRCODE_LIMIT codes: the user must generate again.
        "refused" => new StateSignal(rawEvent, SessionState.Disconnected, $"refused:{statusReason}", SessionReasons.QrLimit),
        "close" => statusReason switch
        {
            401 => new StateSignal(rawEvent, SessionState.Disconnected, "close:401", SessionReasons.LoggedOut),
            403 or 402 or 406 => new StateSignal(rawEvent, SessionState.Failed, $"close:{statusReason}", SessionReasons.Banned),
            _ => new StateSignal(rawEvent, SessionState.Disconnected, $"close:{statusReason}", SessionReasons.ConnectionLost),
        },
        _ => new StateSignal(rawEvent, SessionState.Failed, state, "unknown_state:" + state),
    };

    public static AckLevel Ack(string? status) => status switch
    {
        "ERROR" => AckLevel.Failed,
        "PENDING" => AckLevel.Pending,
        "SERVER_ACK" => AckLevel.Sent,
        "DELIVERY_ACK" => AckLevel.Delivered,
        "READ" => AckLevel.Read,
        "PLAYED" => AckLevel.Played,
        _ => AckLevel.Failed, // "DELETED" and unknown values
    };

    public static IReadOnlyList<GatewaySignal> Parse(JsonElement body)
    {
        var evt = JsonFields.Str(body, "event") ?? "";
        var data = body.TryGetProperty("data", out var d) ? d : default;
        switch (evt)
        {
            // A state that is not a readable string says nothing: it must not fail a number (found by the fuzz test).
            case "connection.update" when data.ValueKind == JsonValueKind.Object && JsonFields.Str(data, "state") is { Length: > 0 } state:
                return [Connection(evt, state, (int?)JsonFields.Int(data, "statusReason"), JsonFields.Str(data, "wuid"), JsonFields.Str(data, "profileName"))];

            case "qrcode.updated" when data.ValueKind == JsonValueKind.Object:
                // Same event name, two shapes: a new code, or the QRCODE_LIMIT notice.
                if (data.TryGetProperty("qrcode", out var qr) && qr.ValueKind == JsonValueKind.Object)
                    return [new QrSignal(evt, JsonFields.Str(qr, "code"), JsonFields.Str(qr, "base64"), JsonFields.Str(qr, "pairingCode"))];
                return [new StateSignal(evt, SessionState.Disconnected, "qr_limit", SessionReasons.QrLimit)];

            case "logout.instance":
                return [new StateSignal(evt, SessionState.Disconnected, "logout", SessionReasons.LoggedOut)];

            case "status.instance" when JsonFields.Str(data, "status") == "closed":
                return [new StateSignal(evt, SessionState.Disconnected, "closed", JsonFields.Int(data, "disconnectionReasonCode") == 401 ? SessionReasons.LoggedOut : SessionReasons.Closed)];

            case "instance.delete" or "remove.instance":
                return [new StateSignal(evt, SessionState.Disconnected, "deleted", SessionReasons.GatewayLostInstance)];

            case "messages.update" when data.ValueKind == JsonValueKind.Object && JsonFields.Str(data, "keyId") is { } keyId:
                return [new AckSignal(evt, keyId, Ack(JsonFields.Str(data, "status")))];

            case "messages.upsert" when data.ValueKind == JsonValueKind.Object
                && data.TryGetProperty("key", out var key) && key.ValueKind == JsonValueKind.Object && !JsonFields.Bool(key, "fromMe"):
                return [new InboundSignal(evt, JsonFields.Str(key, "id") ?? "", PhoneFromJid(JsonFields.Str(key, "remoteJid")) ?? JsonFields.Str(key, "remoteJid") ?? "",
                    JsonFields.Str(data, "pushName"), InboundText(data), MediaType(JsonFields.Str(data, "messageType")),
                    JsonFields.Int(data, "messageTimestamp") is { } ts ? DateTimeOffset.FromUnixTimeSeconds(ts) : DateTimeOffset.UtcNow)];

            default:
                return [new IgnoredSignal(evt)];
        }
    }

    /// <summary>
    /// connection.update `connecting` is what Evolution posts for every socket it re-creates, ~19 a second without backoff
    /// while WhatsApp cannot be reached (contract §2): the same state and code again and again.
    /// </summary>
    public static string? RepeatKey(ReadOnlySpan<byte> body)
    {
        if (body.IndexOf("\"connecting\""u8) < 0) return null;
        try
        {
            var reader = new Utf8JsonReader(body);
            using var json = JsonDocument.ParseValue(ref reader);
            var root = json.RootElement;
            if (JsonFields.Str(root, "event") != "connection.update" || !root.TryGetProperty("data", out var data)) return null;
            return JsonFields.Str(data, "state") == "connecting" ? $"connecting:{JsonFields.Int(data, "statusReason")}" : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>"5511999990001@s.whatsapp.net" → "+5511999990001"; groups and LIDs stay as they are.</summary>
    public static string? PhoneFromJid(string? jid)
    {
        if (string.IsNullOrEmpty(jid)) return null;
        var at = jid.IndexOf('@');
        var user = at < 0 ? jid : jid[..at];
        var server = at < 0 ? "s.whatsapp.net" : jid[(at + 1)..];
        if (server is not ("s.whatsapp.net" or "c.us")) return jid;
        user = user.Split(':')[0];
        return user.All(char.IsAsciiDigit) && user.Length >= 8 ? "+" + user : jid;
    }

    private static string? InboundText(JsonElement data)
    {
        if (!data.TryGetProperty("message", out var m) || m.ValueKind != JsonValueKind.Object) return null;
        if (JsonFields.Str(m, "conversation") is { } text) return text;
        foreach (var media in new[] { "imageMessage", "videoMessage", "documentMessage" })
            if (m.TryGetProperty(media, out var x) && x.ValueKind == JsonValueKind.Object) return JsonFields.Str(x, "caption");
        return null;
    }

    private static string? MediaType(string? messageType) => messageType switch
    {
        "imageMessage" => "image",
        "videoMessage" => "video",
        "audioMessage" => "audio",
        "documentMessage" => "document",
        "stickerMessage" => "sticker",
        _ => null,
    };
}
