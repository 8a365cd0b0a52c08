namespace ZapHub.Gateways;

/// <summary>What a gateway webhook (or a state read) means for ZapHub, whatever the provider.</summary>
public abstract record GatewaySignal(string RawEvent);

/// <summary>The session moved to a state. <paramref name="Reason"/> is a stable code (see <see cref="SessionReasons"/>).</summary>
public sealed record StateSignal(string RawEvent, SessionState State, string RawState, string? Reason = null, string? Phone = null, string? ProfileName = null)
    : GatewaySignal(RawEvent);

/// <summary>A new QR code (and/or pairing code) to show.</summary>
public sealed record QrSignal(string RawEvent, string? Code, string? ImageDataUrl, string? PairingCode) : GatewaySignal(RawEvent);

public enum AckLevel { Failed = -1, Pending = 0, Sent = 1, Delivered = 2, Read = 3, Played = 4 }

/// <summary>A receipt for a message ZapHub sent, correlated by the provider's message id.</summary>
public sealed record AckSignal(string RawEvent, string ProviderMessageId, AckLevel Level) : GatewaySignal(RawEvent);

/// <summary>A message the phone received.</summary>
public sealed record InboundSignal(string RawEvent, string ProviderMessageId, string From, string? PushName, string? Text, string? MediaType, DateTimeOffset At)
    : GatewaySignal(RawEvent);

/// <summary>Understood, and nothing to do (presence, our own echo, an event ZapHub does not use).</summary>
public sealed record IgnoredSignal(string RawEvent) : GatewaySignal(RawEvent);

public static class SessionReasons
{
    public const string LoggedOut = "logged_out";
    public const string UnlinkedFromPhone = "unlinked_from_phone";
    public const string Closed = "closed";
    public const string QrExpired = "qr_expired";
    public const string QrLimit = "qr_limit";
    public const string Banned = "forbidden_by_whatsapp";
    public const string StartTimeout = "start_timeout";
    public const string ReconnectLoop = "reconnect_loop";
    public const string GatewayLostInstance = "gateway_lost_instance";
    public const string ServerClosed = "server_closed";
    public const string ConnectionLost = "connection_lost";
    /// <summary>A call on the number (a send) was answered "not connected" while ZapHub thought it was.</summary>
    public const string GatewayNotConnected = "gateway_not_connected";
}
