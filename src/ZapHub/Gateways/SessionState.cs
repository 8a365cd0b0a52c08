namespace ZapHub.Gateways;

/// <summary>The one normalized lifecycle for every provider (ARCHITECTURE §5); the raw provider state is kept beside it.</summary>
public enum SessionState
{
    Created,
    Starting,
    AwaitingScan,
    Pairing,
    Connected,
    Disconnected,
    Failed,
    Disabled,
}

public enum GatewayKind { Evolution, WppConnect }
