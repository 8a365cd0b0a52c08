using ZapHub.Data;
using ZapHub.Gateways;

namespace ZapHub.Features.Sessions;

/// <summary>One WhatsApp number of a tenant on one gateway.</summary>
public sealed class Session : ITenantOwned
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid TenantId { get; set; }
    public Guid GatewayId { get; set; }
    public required string DisplayName { get; set; }

    /// <summary>Short, unique per gateway, and short enough for WPPConnect's 72-byte bcrypt input.</summary>
    public required string InstanceName { get; set; }

    public SessionState State { get; set; } = SessionState.Created;
    public string? StateReason { get; set; }
    public string? RawState { get; set; }

    public string? QrCode { get; set; }
    public string? QrImage { get; set; }
    public DateTime? QrExpiresAt { get; set; }
    public int QrRefreshCount { get; set; }
    public string? PairingCode { get; set; }
    public string? PairingPhone { get; set; }

    /// <summary>E.164, filled from the gateway on connect.</summary>
    public string? Phone { get; set; }
    public string? ProfileName { get; set; }
    public string? ProfilePictureUrl { get; set; }

    /// <summary>The platform's own id for this number (its customer's account, say): set by API, filterable, echoed in every event about it.</summary>
    public string? Reference { get; set; }

    /// <summary>A JSON object the platform keeps with the number (at most 4 KB), echoed in every event about it.</summary>
    public string? Metadata { get; set; }

    /// <summary>The number's own proxy (a URL, credentials included), encrypted with the key ring; handed to the gateway when it starts the number.</summary>
    public string? ProtectedProxy { get; set; }

    public bool IsPrimary { get; set; }
    public bool Enabled { get; set; } = true;
    public int? DailyLimit { get; set; }
    public int SentToday { get; set; }

    /// <summary>The tenant-local day <see cref="SentToday"/> counts, as yyyy-MM-dd.</summary>
    public string? SentTodayDate { get; set; }

    /// <summary>When this phone number was first linked: warm-up counts from here.</summary>
    public DateTime? LinkedAt { get; set; }

    /// <summary>
    /// The dispatcher's slot: no send of this number starts before it. Written only by the dispatcher's own SQL (never
    /// through a tracked entity), together with <see cref="SentToday"/>, so it needs no version bump.
    /// </summary>
    public DateTime? NextSendAt { get; set; }

    /// <summary>Sending stopped because WhatsApp pushed back (rate limit, restriction); null when not paused.</summary>
    public DateTime? PausedUntil { get; set; }
    public string? PauseReason { get; set; }

    public DateTime? LastEventAt { get; set; }
    public DateTime? LastAckAt { get; set; }
    public DateTime? LastCheckedAt { get; set; }
    public DateTime? StartingSince { get; set; }
    public DateTime? ConnectedAt { get; set; }
    public DateTime? DisconnectedAt { get; set; }
    public string? LastError { get; set; }

    /// <summary>The callback secret, protected (to build the URL again) and hashed (to check it fast, in constant time).</summary>
    public required string ProtectedCallbackSecret { get; set; }
    public required byte[] CallbackSecretHash { get; set; }

    /// <summary>WPPConnect's per-session token (Evolution's instance token), protected. Null until provisioned.</summary>
    public string? ProtectedProviderToken { get; set; }
    public DateTime? ProvisionedAt { get; set; }

    /// <summary>
    /// Webhooks that came to this number's secret URL naming another instance: refused, counted here for the operator
    /// (a gateway posting one number's events to another's URL is misconfigured, or its name was given up and relaunched).
    /// </summary>
    public int RefusedEvents { get; set; }
    public DateTime? LastRefusedAt { get; set; }
    public string? LastRefusedInstance { get; set; }

    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }

    /// <summary>
    /// Optimistic concurrency: the API, the webhook processor and the reconciler all write sessions; a writer that
    /// read an older row must re-read and re-apply instead of overwriting a newer state.
    /// </summary>
    public int Version { get; set; }
}

/// <summary>A transition of a session: the timeline, uptime and reconnect history come from these rows.</summary>
public sealed class SessionEvent : ITenantOwned
{
    /// <summary>A sequence: two transitions in the same instant still keep their order.</summary>
    public long Id { get; set; }
    public Guid TenantId { get; set; }
    public Guid SessionId { get; set; }
    public DateTime At { get; set; }
    public SessionState FromState { get; set; }
    public SessionState ToState { get; set; }
    public required string Cause { get; set; }
    public string? Reason { get; set; }
    public string? RawState { get; set; }
    public long? GatewayEventId { get; set; }
}

/// <summary>The inbox: each raw webhook a gateway sent, stored before it is processed, kept for diagnosis and replay.</summary>
public sealed class GatewayEvent : ITenantOwned
{
    public long Id { get; set; }
    public Guid TenantId { get; set; }
    public Guid SessionId { get; set; }

    /// <summary>The work partition of its number (<see cref="Platform.WorkPartitions"/>): the node holding it applies the event.</summary>
    public short Partition { get; set; }
    public DateTime ReceivedAt { get; set; }
    public required string DedupeKey { get; set; }
    public required string Body { get; set; }
    public DateTime? ProcessedAt { get; set; }
    public string? Error { get; set; }
}
