namespace ZapHub.Gateways;

/// <summary>Where a session lives on its gateway. The provider token is decrypted only for the call.</summary>
public sealed record GatewaySession(string InstanceName, string? ProviderToken, Uri CallbackUrl);

public sealed record Provisioned(string? ProviderToken);

/// <summary>What a connect call returned right away; QR codes may also (or only) arrive by webhook.</summary>
public sealed record ConnectOutcome(bool AlreadyConnected, string? QrCode, string? QrImageDataUrl, string? PairingCode);

/// <summary>The gateway's own view of a session, read by the reconciler.</summary>
public sealed record ObservedState(bool Exists, StateSignal? State);

public sealed record SentRef(string ProviderMessageId);

/// <summary>A file to send: a public URL the gateway downloads, or the bytes themselves.</summary>
public sealed record OutgoingMedia(string Kind, string? Url, byte[]? Content, string? FileName, string? MimeType);

/// <summary>What to send to one number (digits, country code first). <paramref name="TypingDelay"/> shows "typing…" first where the gateway can.</summary>
public sealed record OutgoingMessage(string ToDigits, string? Text, OutgoingMedia? Media = null, TimeSpan TypingDelay = default);

public sealed record GatewayCheck(bool Ok, string Detail);

/// <summary>
/// The port every feature uses to reach a gateway server; one implementation per provider. Nothing else in
/// ZapHub talks HTTP to a gateway. Calls throw <see cref="GatewayException"/> with a failure category.
/// </summary>
public interface IGateway
{
    GatewayKind Kind { get; }

    Task<GatewayCheck> CheckAsync(CancellationToken ct);

    /// <summary>Creates the instance with its webhook pointing back at ZapHub. Idempotent for an existing instance.</summary>
    Task<Provisioned> ProvisionAsync(string instanceName, Uri callbackUrl, CancellationToken ct);

    /// <summary>Starts a connection by QR, or by pairing code when a phone (digits only) is given.</summary>
    Task<ConnectOutcome> ConnectAsync(GatewaySession session, string? pairingPhone, CancellationToken ct);

    Task<ObservedState> GetStateAsync(GatewaySession session, CancellationToken ct);
    Task LogoutAsync(GatewaySession session, CancellationToken ct);
    Task CloseAsync(GatewaySession session, CancellationToken ct);
    Task DeleteAsync(GatewaySession session, CancellationToken ct);
    Task RestartAsync(GatewaySession session, CancellationToken ct);

    /// <summary>Sends a text or a file (with its caption). Never retried automatically: gateways take no idempotency key.</summary>
    Task<SentRef> SendAsync(GatewaySession session, OutgoingMessage message, CancellationToken ct);

    Task<bool> IsOnWhatsAppAsync(GatewaySession session, string digits, CancellationToken ct);
}
