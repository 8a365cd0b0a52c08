using System.Text.Json;

namespace ZapHub.Gateways;

/// <summary>
/// Everything ZapHub knows about one kind of gateway server, in that provider's folder: how to call it, how to read its
/// webhooks, what its credential must look like and what it can do. Features ask the descriptor; they never branch on
/// the kind. Registered once with <see cref="GatewaySetup.AddGatewayProvider{T}"/>.
/// </summary>
public abstract class GatewayProvider
{
    public abstract GatewayKind Kind { get; }

    /// <summary>The product's name, as an operator knows it ("Evolution API v2").</summary>
    public abstract string DisplayName { get; }

    /// <summary>The dashboard's text key naming the credential the operator types.</summary>
    public abstract string CredentialTextKey { get; }

    /// <summary>A licence the operator should read before running this server, if any.</summary>
    public virtual Uri? LicenceUrl => null;

    /// <summary>How long one QR code lives on this server.</summary>
    public abstract TimeSpan QrLifetime { get; }

    public abstract IGateway CreateClient(GatewayHttp http, string baseUrl, string credential);

    /// <summary>Turns a webhook body into normalized signals; needs no client or credentials.</summary>
    public abstract IReadOnlyList<GatewaySignal> ParseWebhook(JsonElement body);

    /// <summary>
    /// Top-level fields of this provider's webhook bodies that carry a credential or a callback secret; their values are
    /// masked before a body is stored (the inbox keeps raw bodies for diagnosis, and serves them to the operator).
    /// </summary>
    public virtual IReadOnlyList<string> SecretFields => [];

    /// <summary>The top-level field in which a webhook names the instance (session) it is about.</summary>
    public abstract string InstanceField { get; }

    public string? InstanceNameOf(JsonElement body) => JsonFields.Str(body, InstanceField);

    /// <summary>
    /// The time part of a webhook's dedupe key. A server that retries with the same body (and stamps its own time into
    /// it) makes retries duplicates; one that never retries, and sends identical bodies for distinct events, needs the
    /// arrival time instead.
    /// </summary>
    public abstract string DedupeTime(string? sentAt, DateTime receivedAt);

    /// <summary>
    /// A key for webhooks that only repeat a transitional state (Evolution's `connecting` loop); consecutive ones with the
    /// same key are collapsed by the receiver instead of stored. Null: the event is always stored.
    /// </summary>
    public virtual string? RepeatKey(ReadOnlySpan<byte> body) => null;

    /// <summary>A connected session this server lost reads as closed instead of missing (WPPConnect never forgets a name).</summary>
    public virtual bool LostSessionsReadClosed => false;

    /// <summary>Why the credential cannot work with this server for instance names of the given length, or null.</summary>
    public virtual string? CredentialProblem(string credential, int instanceNameLength) => null;
}

/// <summary>A gateway kind no provider was registered for: a configuration error, never a silent default.</summary>
public sealed class UnknownGatewayKindException(GatewayKind kind)
    : Exception($"No gateway provider is registered for kind '{kind}'. Register it with AddGatewayProvider<T>().");

/// <summary>The registered providers, by kind.</summary>
public sealed class GatewayProviders(IEnumerable<GatewayProvider> providers)
{
    private readonly Dictionary<GatewayKind, GatewayProvider> byKind = providers.ToDictionary(p => p.Kind);

    public GatewayProvider For(GatewayKind kind) => byKind.TryGetValue(kind, out var p) ? p : throw new UnknownGatewayKindException(kind);

    public IReadOnlyCollection<GatewayProvider> All => byKind.Values;
}
