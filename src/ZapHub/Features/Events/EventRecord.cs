using ZapHub.Data;

namespace ZapHub.Features.Events;

/// <summary>
/// Something that happened to a tenant, stored in the same transaction as the change itself (the outbox), with
/// the exact JSON every channel sends: webhooks sign these bytes, the stream and replays send them unchanged.
/// </summary>
public sealed class EventRecord : ITenantOwned
{
    /// <summary>Insert order. Not the order readers see: concurrent transactions commit out of id order.</summary>
    public long Id { get; set; }

    /// <summary>
    /// Commit order, assigned by the relay after the row is visible; null until then. The stream resumes from it,
    /// so a reader that saw sequence N can never later miss an event below N.
    /// </summary>
    public long? Sequence { get; set; }

    public Guid TenantId { get; set; }

    /// <summary>The work partition of its tenant (<see cref="Platform.WorkPartitions"/>): the node holding it numbers the event.</summary>
    public short Partition { get; set; }

    /// <summary>The id tenants see (<c>webhook-id</c>, the stream's event id); the same on every retry and replay.</summary>
    public required string PublicId { get; set; }
    public required string Type { get; set; }
    public DateTime OccurredAt { get; set; }

    /// <summary>The envelope <c>{type, timestamp, data}</c> as sent.</summary>
    public required string Payload { get; set; }

    /// <summary>Set for a test event: it goes to this endpoint only, never to the stream or other endpoints.</summary>
    public Guid? OnlyEndpointId { get; set; }
}

/// <summary>A URL of the tenant's systems that receives signed events.</summary>
public sealed class WebhookEndpoint : ITenantOwned
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid TenantId { get; set; }
    public required string Url { get; set; }
    public string? Description { get; set; }

    /// <summary>Space-separated event types it wants; empty for all.</summary>
    public string EventTypes { get; set; } = "";
    public bool Enabled { get; set; } = true;
    public string? DisabledReason { get; set; }
    public DateTime? DisabledAt { get; set; }

    /// <summary>The signing secret (<c>whsec_…</c>), protected at rest.</summary>
    public required string ProtectedSecret { get; set; }

    /// <summary>After a rotation the old secret still signs, alongside the new one, until this time.</summary>
    public string? ProtectedPreviousSecret { get; set; }
    public DateTime? PreviousSecretExpiresAt { get; set; }

    /// <summary>The first failed attempt since the last success; sustained failure disables the endpoint.</summary>
    public DateTime? FailingSince { get; set; }
    public DateTime? LastSuccessAt { get; set; }
    public DateTime? LastFailureAt { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }

    public IReadOnlyList<string> EventTypeList => EventTypes.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    public bool Wants(string type) => EventTypes.Length == 0 || EventTypeList.Contains(type);
}

public enum DeliveryStatus { Pending, Succeeded, Failed }

/// <summary>One event owed to one endpoint: retried on a schedule until it succeeds or the attempts run out.</summary>
public sealed class WebhookDelivery : ITenantOwned
{
    public long Id { get; set; }
    public Guid TenantId { get; set; }
    public Guid EndpointId { get; set; }
    public long EventId { get; set; }
    public DeliveryStatus Status { get; set; }
    public int Attempts { get; set; }
    public DateTime NextAttemptAt { get; set; }

    /// <summary>A sender holds it until then; a sender that died lets it go when this passes.</summary>
    public DateTime? LeaseUntil { get; set; }

    /// <summary>Why it exists: the event itself, a person's redelivery, or a replay.</summary>
    public string Origin { get; set; } = DeliveryOrigins.Event;
    public int? LastStatusCode { get; set; }
    public string? LastError { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? CompletedAt { get; set; }
}

public static class DeliveryOrigins
{
    public const string Event = "event";
    public const string Redelivery = "redelivery";
    public const string Replay = "replay";
    public const string Test = "test";
}

/// <summary>One HTTP attempt of a delivery, for the delivery log.</summary>
public sealed class WebhookAttempt : ITenantOwned
{
    public long Id { get; set; }
    public Guid TenantId { get; set; }
    public long DeliveryId { get; set; }
    public Guid EndpointId { get; set; }
    public int Attempt { get; set; }
    public DateTime At { get; set; }
    public int? StatusCode { get; set; }
    public int LatencyMs { get; set; }

    /// <summary>The start of the response body, or why there was none (refused, timed out, blocked).</summary>
    public string? Response { get; set; }
    public string? Error { get; set; }
}
