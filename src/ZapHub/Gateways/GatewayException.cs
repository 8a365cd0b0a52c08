namespace ZapHub.Gateways;

/// <summary>How a gateway call failed; decides what the caller does next (retry, re-provision, tell the user).</summary>
public enum GatewayFailure
{
    /// <summary>Network error, timeout, 5xx: try again later.</summary>
    Transient,
    RateLimited,
    /// <summary>The gateway refused ZapHub's credentials: the operator must fix the gateway settings.</summary>
    Auth,
    /// <summary>The gateway's configuration or ZapHub's request is wrong in a way retrying will not fix.</summary>
    Configuration,
    Permanent,
    /// <summary>The gateway does not know the instance (it was deleted, or the gateway lost its data).</summary>
    InstanceMissing,
    /// <summary>The WhatsApp session is not connected on the gateway.</summary>
    NotConnected,
    /// <summary>The recipient is not on WhatsApp.</summary>
    InvalidNumber,
    /// <summary>A stop was asked for, and the gateway still runs the session.</summary>
    NotStopped,
}

public sealed class GatewayException(GatewayFailure failure, string message, int? statusCode = null, Exception? inner = null)
    : Exception(message, inner)
{
    public GatewayFailure Failure { get; } = failure;
    public int? StatusCode { get; } = statusCode;
}
