using System.Text.Json.Serialization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ZapHub.Data;
using ZapHub.Features.Tenancy;
using ZapHub.Platform;

namespace ZapHub.Features.Events;

public sealed record WebhookView(Guid Id, string Url, string? Description, IReadOnlyList<string> EventTypes, bool Enabled, string? DisabledReason, DateTime? DisabledAt,
    DateTime? FailingSince, DateTime? LastSuccessAt, DateTime? LastFailureAt, DateTime? PreviousSecretExpiresAt, DateTime CreatedAt)
{
    public static WebhookView From(WebhookEndpoint x) => new(x.Id, x.Url, x.Description, x.EventTypeList, x.Enabled, x.DisabledReason, x.DisabledAt,
        x.FailingSince, x.LastSuccessAt, x.LastFailureAt, x.PreviousSecretExpiresAt, x.CreatedAt);
}

/// <summary>The secret is in this answer only: ZapHub keeps it protected and never shows it again.</summary>
public sealed record WebhookWithSecret(WebhookView Endpoint, string Secret);

public sealed record SaveWebhookRequest(string? Url, string? Description = null, IReadOnlyList<string>? EventTypes = null, bool? Enabled = null);

/// <param name="StoredError">The last failure as stored (a note), for the dashboard to show in the reader's language.</param>
public sealed record DeliveryView(long Id, string EventId, string EventType, DateTime OccurredAt, DeliveryStatus Status, string Origin, int Attempts,
    DateTime? NextAttemptAt, int? LastStatusCode, [property: JsonIgnore] string? StoredError, DateTime CreatedAt, DateTime? CompletedAt)
{
    /// <summary>Why the last attempt failed, in English (a timeout, a refused address, no connection); its stable code beside it.</summary>
    public string? LastError => StoredError is null ? null : Components.Text.English(StoredError);
    public string? LastErrorCode => Note.Read(StoredError)?.Code;
}

/// <param name="StoredError">The failure as stored (a note), for the dashboard.</param>
public sealed record AttemptView(int Attempt, DateTime At, int? StatusCode, int LatencyMs, string? Response, [property: JsonIgnore] string? StoredError)
{
    public string? Error => StoredError is null ? null : Components.Text.English(StoredError);
    public string? ErrorCode => Note.Read(StoredError)?.Code;
}

public sealed record DeliveryDetail(DeliveryView Delivery, string Payload, IReadOnlyList<AttemptView> Attempts);

public sealed record ReplayRequest(DateTime? Since);

public sealed record ReplayResult(int Queued);

/// <summary>A tenant's webhook endpoints, their secrets, and their delivery log.</summary>
public sealed class WebhookService(ZapHubDb db, TenantContext tenant, AuditLog audit, TimeProvider time, WebhookTargets targets, WebhookSecrets secrets,
    IOptions<WebhookOptions> options, WebhookSender sender)
{
    public const int MaxEndpointsPerTenant = 20;
    public const int MaxReplay = 100_000;

    public async Task<IReadOnlyList<WebhookView>> ListAsync(CancellationToken ct) =>
        (await db.WebhookEndpoints.AsNoTracking().OrderBy(x => x.CreatedAt).ToListAsync(ct)).Select(WebhookView.From).ToList();

    public async Task<WebhookView> GetAsync(Guid id, CancellationToken ct) => WebhookView.From(await FindAsync(id, ct, tracking: false));

    public async Task<WebhookWithSecret> CreateAsync(Actor actor, SaveWebhookRequest request, CancellationToken ct)
    {
        var (url, types) = await ValidateAsync(request, ct);
        if (await db.WebhookEndpoints.CountAsync(ct) >= MaxEndpointsPerTenant)
            throw ProblemException.Conflict("webhook_limit", $"A tenant can have up to {MaxEndpointsPerTenant} webhook endpoints.");
        var now = time.UtcNow();
        var secret = WebhookSignature.NewSecret();
        var endpoint = new WebhookEndpoint
        {
            TenantId = tenant.RequireTenant(), Url = url, Description = Description(request.Description), EventTypes = types,
            Enabled = request.Enabled ?? true, ProtectedSecret = secrets.Protect(secret), CreatedAt = now, UpdatedAt = now,
        };
        db.WebhookEndpoints.Add(endpoint);
        audit.Add(db, actor, endpoint.TenantId, "webhook.created", "webhook", endpoint.Id.ToString(), url);
        await db.SaveChangesAsync(ct);
        return new WebhookWithSecret(WebhookView.From(endpoint), secret);
    }

    public async Task<WebhookView> UpdateAsync(Actor actor, Guid id, SaveWebhookRequest request, CancellationToken ct)
    {
        var endpoint = await FindAsync(id, ct);
        var (url, types) = await ValidateAsync(request, ct);
        (endpoint.Url, endpoint.Description, endpoint.EventTypes, endpoint.UpdatedAt) = (url, Description(request.Description), types, time.UtcNow());
        if (request.Enabled is { } enabled && enabled != endpoint.Enabled)
        {
            endpoint.Enabled = enabled;
            if (enabled)
                // Switched back on by a person: the failure clock and the alert start over.
                (endpoint.DisabledAt, endpoint.DisabledReason, endpoint.FailingSince) = (null, null, null);
            else
                (endpoint.DisabledAt, endpoint.DisabledReason) = (time.UtcNow(), "Disabled by " + actor.Name);
        }
        audit.Add(db, actor, endpoint.TenantId, "webhook.updated", "webhook", id.ToString(), Note.Of("audit_webhook_updated", ("url", url), ("state", Note.Key(endpoint.Enabled ? "common.enabled" : "common.disabled"))).Store());
        await db.SaveChangesAsync(ct);
        return WebhookView.From(endpoint);
    }

    public async Task DeleteAsync(Actor actor, Guid id, CancellationToken ct)
    {
        var endpoint = await FindAsync(id, ct);
        db.WebhookEndpoints.Remove(endpoint);
        audit.Add(db, actor, endpoint.TenantId, "webhook.deleted", "webhook", id.ToString(), endpoint.Url);
        await db.SaveChangesAsync(ct);
    }

    /// <summary>A new secret; the old one keeps signing too (both signatures sent) for the overlap, so receivers switch without losing events.</summary>
    public async Task<WebhookWithSecret> RotateSecretAsync(Actor actor, Guid id, CancellationToken ct)
    {
        var endpoint = await FindAsync(id, ct);
        var secret = WebhookSignature.NewSecret();
        var now = time.UtcNow();
        (endpoint.ProtectedPreviousSecret, endpoint.PreviousSecretExpiresAt) = (endpoint.ProtectedSecret, now + options.Value.SecretOverlap);
        (endpoint.ProtectedSecret, endpoint.UpdatedAt) = (secrets.Protect(secret), now);
        audit.Add(db, actor, endpoint.TenantId, "webhook.secret_rotated", "webhook", id.ToString(), endpoint.Url);
        await db.SaveChangesAsync(ct);
        return new WebhookWithSecret(WebhookView.From(endpoint), secret);
    }

    /// <summary>A <c>webhook.test</c> event for this endpoint only; its delivery shows in the log like any other.</summary>
    public async Task<string> SendTestAsync(Actor actor, Guid id, CancellationToken ct)
    {
        var endpoint = await FindAsync(id, ct, tracking: false);
        if (!endpoint.Enabled) throw ProblemException.Conflict("webhook_disabled", "The endpoint is disabled; enable it to send a test event.");
        var now = time.UtcNow();
        var test = EventCapture.Create(endpoint.TenantId, EventTypes.WebhookTest, now,
            new { endpointId = endpoint.Id, message = "A test event from ZapHub. If you can read this, the endpoint works.", sentBy = actor.Name }, endpoint.Id);
        db.Events.Add(test);
        await db.SaveChangesAsync(ct);
        return test.PublicId;
    }

    public async Task<IReadOnlyList<DeliveryView>> DeliveriesAsync(Guid id, DeliveryStatus? status, long? before, int limit, CancellationToken ct)
    {
        await FindAsync(id, ct, tracking: false);
        var query = db.WebhookDeliveries.AsNoTracking().Where(d => d.EndpointId == id);
        if (status is { } s) query = query.Where(d => d.Status == s);
        if (before is { } b) query = query.Where(d => d.Id < b);
        return await Views(query.OrderByDescending(d => d.Id).Take(Math.Clamp(limit, 1, 200))).ToListAsync(ct);
    }

    private IQueryable<DeliveryView> Views(IQueryable<WebhookDelivery> deliveries) =>
        deliveries.Join(db.Events, d => d.EventId, e => e.Id, (d, e) => new DeliveryView(d.Id, e.PublicId, e.Type, e.OccurredAt, d.Status, d.Origin, d.Attempts,
            d.Status == DeliveryStatus.Pending ? d.NextAttemptAt : null, d.LastStatusCode, d.LastError, d.CreatedAt, d.CompletedAt));

    public async Task<DeliveryDetail> DeliveryAsync(Guid id, long deliveryId, CancellationToken ct)
    {
        var view = await Views(db.WebhookDeliveries.AsNoTracking().Where(d => d.EndpointId == id && d.Id == deliveryId)).FirstOrDefaultAsync(ct)
            ?? throw ProblemException.NotFound("Delivery");
        var payload = await db.Events.AsNoTracking().Where(e => e.PublicId == view.EventId).Select(e => e.Payload).FirstAsync(ct);
        var attempts = await db.WebhookAttempts.AsNoTracking().Where(a => a.DeliveryId == deliveryId).OrderBy(a => a.Id)
            .Select(a => new AttemptView(a.Attempt, a.At, a.StatusCode, a.LatencyMs, a.Response, a.Error)).ToListAsync(ct);
        return new DeliveryDetail(view, payload, attempts);
    }

    /// <summary>Sends one event again, as a new delivery with the same webhook-id (receivers deduplicate on it).</summary>
    public async Task<DeliveryView> RedeliverAsync(Actor actor, Guid id, long deliveryId, CancellationToken ct)
    {
        var endpoint = await RequireEnabledAsync(id, ct);
        var original = await db.WebhookDeliveries.AsNoTracking().FirstOrDefaultAsync(d => d.EndpointId == id && d.Id == deliveryId, ct)
            ?? throw ProblemException.NotFound("Delivery");
        var now = time.UtcNow();
        var again = new WebhookDelivery { TenantId = endpoint.TenantId, EndpointId = id, EventId = original.EventId, NextAttemptAt = now, CreatedAt = now, Origin = DeliveryOrigins.Redelivery };
        db.WebhookDeliveries.Add(again);
        audit.Add(db, actor, endpoint.TenantId, "webhook.redelivered", "webhook", id.ToString(), Note.Of("audit_webhook_redelivered", ("delivery", deliveryId)).Store());
        await db.SaveChangesAsync(ct);
        sender.Wake();
        return await Views(db.WebhookDeliveries.AsNoTracking().Where(d => d.Id == again.Id)).FirstAsync(ct);
    }

    /// <summary>Every event since a time that this endpoint wants, queued again in their original order.</summary>
    public async Task<ReplayResult> ReplayAsync(Actor actor, Guid id, ReplayRequest request, CancellationToken ct)
    {
        var endpoint = await RequireEnabledAsync(id, ct);
        var now = time.UtcNow();
        if (request.Since is not { } since) throw ProblemException.Invalid("since", "since_required", "Say from when to replay, e.g. \"2026-11-22T08:00:00Z\".");
        since = since.ToUniversalTime();
        if (since > now) throw ProblemException.Invalid("since", "since_future", "The time to replay from is in the future.");
        var types = endpoint.EventTypeList;
        var query = db.Events.AsNoTracking().Where(e => e.OccurredAt >= since && e.Sequence != null && e.OnlyEndpointId == null);
        if (types.Count > 0) query = query.Where(e => types.Contains(e.Type));
        var ids = await query.OrderBy(e => e.Sequence).Select(e => e.Id).Take(MaxReplay + 1).ToListAsync(ct);
        if (ids.Count > MaxReplay)
            throw ProblemException.Invalid("since", "replay_too_large", $"More than {MaxReplay:N0} events since then; choose a later time.");
        foreach (var eventId in ids)
            db.WebhookDeliveries.Add(new WebhookDelivery { TenantId = endpoint.TenantId, EndpointId = id, EventId = eventId, NextAttemptAt = now, CreatedAt = now, Origin = DeliveryOrigins.Replay });
        audit.Add(db, actor, endpoint.TenantId, "webhook.replayed", "webhook", id.ToString(), Note.Of("audit_webhook_replayed", ("count", ids.Count), ("since", since)).Store());
        await db.SaveChangesAsync(ct);
        sender.Wake();
        return new ReplayResult(ids.Count);
    }

    private async Task<WebhookEndpoint> RequireEnabledAsync(Guid id, CancellationToken ct)
    {
        var endpoint = await FindAsync(id, ct, tracking: false);
        return endpoint.Enabled ? endpoint : throw ProblemException.Conflict("webhook_disabled", "The endpoint is disabled; enable it first.");
    }

    private async Task<(string Url, string Types)> ValidateAsync(SaveWebhookRequest request, CancellationToken ct)
    {
        var url = request.Url?.Trim() ?? "";
        if (url.Length > 2000) throw ProblemException.Invalid("url", "url_long", "The address may have up to 2000 characters.");
        if (await targets.CheckAsync(url, ct) is { } refusal)
            throw new ProblemException(StatusCodes.Status400BadRequest, "url_refused", Components.Text.English(refusal.Store()), "url") { Note = refusal };
        var types = (request.EventTypes ?? []).Select(t => t.Trim()).Where(t => t.Length > 0).Distinct().ToList();
        if (types.FirstOrDefault(t => !EventTypes.IsKnown(t)) is { } unknown)
            throw ProblemException.Invalid("eventTypes", "event_type_unknown", $"\"{unknown}\" is not an event type; see GET /api/v1/events/types.");
        return (url, string.Join(' ', types));
    }

    private static string? Description(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim() is { Length: > 200 } t ? t[..200] : text.Trim();

    private async Task<WebhookEndpoint> FindAsync(Guid id, CancellationToken ct, bool tracking = true)
    {
        var query = tracking ? db.WebhookEndpoints : db.WebhookEndpoints.AsNoTracking();
        return await query.FirstOrDefaultAsync(x => x.Id == id, ct) ?? throw ProblemException.NotFound("Webhook endpoint");
    }
}
