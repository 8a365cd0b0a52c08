namespace ZapHub.Gateways;

/// <summary>Where a session lives on its gateway. The provider token is decrypted only for the call.</summary>
public sealed record GatewaySession(string InstanceName, string? ProviderToken, Uri CallbackUrl, GatewayProxy? Proxy = null);

/// <summary>The proxy a number's traffic to WhatsApp goes through (platforms spread numbers over addresses to avoid bans).</summary>
public sealed record GatewayProxy(string Protocol, string Host, int Port, string? Username, string? Password)
{
    /// <summary>What may be shown back: never the credentials.</summary>
    public override string ToString() => $"{Protocol}://{Host}:{Port}";

}

public sealed record Provisioned(string? ProviderToken);

/// <summary>What a connect call returned right away; QR codes may also (or only) arrive by webhook.</summary>
public sealed record ConnectOutcome(bool AlreadyConnected, string? QrCode, string? QrImageDataUrl, string? PairingCode);

/// <summary>The gateway's own view of a session, read by the reconciler.</summary>
public sealed record ObservedState(bool Exists, StateSignal? State);

public sealed record SentRef(string ProviderMessageId);

/// <summary>The linked account: phone in E.164 ("+5511…") and its WhatsApp name.</summary>
public sealed record AccountInfo(string? Phone, string? ProfileName);

/// <summary>A file to send: a public URL the gateway downloads, or the bytes themselves.</summary>
public sealed record OutgoingMedia(string Kind, string? Url, byte[]? Content, string? FileName, string? MimeType);

/// <summary>What to send to one number (digits, country code first). <paramref name="TypingDelay"/> shows "typing…" first where the gateway can.</summary>
public sealed record OutgoingMessage(string ToDigits, string? Text, OutgoingMedia? Media = null, TimeSpan TypingDelay = default);

/// <summary>A "test connection" result; <paramref name="Detail"/> is a note, read in each reader's language.</summary>
public sealed record GatewayCheck(bool Ok, Platform.Note Detail);

/// <summary>What a stop (logout, close, delete) left on the gateway, as the gateway itself said afterwards.</summary>
public enum StopAftermath
{
    /// <summary>The instance is still provisioned and can be connected again as it is.</summary>
    Kept,
    /// <summary>The instance is gone from the gateway: the next connect provisions it again.</summary>
    Removed,
    /// <summary>Something only an operator can end still holds this instance name: the next connect needs a new name.</summary>
    NameBlocked,
}

/// <summary>
/// Something a stop could not clean through the gateway's API, left for the operator: what (<see cref="Leftovers"/>) and
/// under which instance name.
/// </summary>
public sealed record Leftover(string InstanceName, string Kind);

public sealed record StopResult(StopAftermath Aftermath, IReadOnlyList<Leftover> LeftBehind)
{
    public static readonly StopResult KeptClean = new(StopAftermath.Kept, []);
    public static readonly StopResult RemovedClean = new(StopAftermath.Removed, []);
}

/// <summary>The kinds of <see cref="Leftover"/> a provider may report; each has an operator action in docs/operations.md.</summary>
public static class Leftovers
{
    /// <summary>A browser still running with the session's profile locked; only a restart of the gateway server ends it.</summary>
    public const string LockedBrowser = "locked_browser";

    /// <summary>Session data the gateway keeps (a token file) and relaunches at its next start.</summary>
    public const string StoredSession = "stored_session";

    /// <summary>A number moved to another gateway while this one did not answer; its instance may still be here.</summary>
    public const string MovedAway = "moved_away";
}

/// <summary>
/// The port every feature uses to reach a gateway server; one implementation per provider. Nothing else in
/// ZapHub talks HTTP to a gateway. Calls throw <see cref="GatewayException"/> with a failure category.
/// </summary>
public interface IGateway
{
    GatewayKind Kind { get; }

    Task<GatewayCheck> CheckAsync(CancellationToken ct);

    /// <summary>Creates the instance with its webhook pointing back at ZapHub. Idempotent for an existing instance.</summary>
    Task<Provisioned> ProvisionAsync(GatewaySession session, CancellationToken ct);

    /// <summary>Starts a connection by QR, or by pairing code when a phone (digits only) is given.</summary>
    Task<ConnectOutcome> ConnectAsync(GatewaySession session, string? pairingPhone, CancellationToken ct);

    Task<ObservedState> GetStateAsync(GatewaySession session, CancellationToken ct);

    /// <summary>
    /// Every instance the server holds, by name, with the state it reports, in one call; null where the provider has no
    /// such call (the reconciler then reads numbers one at a time). A state read this way may lag the live one: it screens
    /// numbers, and a number whose listed state disagrees with ZapHub's is read on its own.
    /// </summary>
    Task<IReadOnlyDictionary<string, ObservedState>?> ListInstancesAsync(CancellationToken ct);

    /// <summary>
    /// The stops. Each makes whatever calls its provider needs, then checks the gateway's own answer: it returns what is
    /// left, or throws <see cref="GatewayFailure.NotStopped"/> when the gateway still runs the session.
    /// </summary>
    Task<StopResult> LogoutAsync(GatewaySession session, CancellationToken ct);
    Task<StopResult> CloseAsync(GatewaySession session, CancellationToken ct);
    Task<StopResult> DeleteAsync(GatewaySession session, CancellationToken ct);
    Task RestartAsync(GatewaySession session, CancellationToken ct);

    /// <summary>The connected account's phone (digits, country code first) and name, where webhooks do not carry them.</summary>
    Task<AccountInfo?> ReadAccountAsync(GatewaySession session, CancellationToken ct);

    /// <summary>Sends a text or a file (with its caption). Never retried automatically: gateways take no idempotency key.</summary>
    Task<SentRef> SendAsync(GatewaySession session, OutgoingMessage message, CancellationToken ct);

    Task<bool> IsOnWhatsAppAsync(GatewaySession session, string digits, CancellationToken ct);
}
