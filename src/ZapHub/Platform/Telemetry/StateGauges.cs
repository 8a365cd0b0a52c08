using System.Diagnostics.Metrics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ZapHub.Data;
using ZapHub.Features.Events;
using ZapHub.Features.Messages;
using ZapHub.Gateways;

namespace ZapHub.Platform.Telemetry;

/// <summary>
/// What the database holds, as gauges: numbers by state and gateway, the gateway inbox, the outbox and the webhook
/// backlog with the age of their oldest item, and how close numbers that sent today are to their daily limit. Read
/// with a few grouped queries when metrics are scraped (at most once per <see cref="MetricsOptions.GaugeMaxAge"/>),
/// so an idle ZapHub does no work for them. Every node reports the same database-wide figures: aggregate with max().
/// </summary>
public sealed class StateGauges
{
    public sealed record Snapshot(
        IReadOnlyList<(string State, string Gateway, string Provider, int Count)> Numbers,
        IReadOnlyList<(string Gateway, string Provider, bool Up)> Gateways,
        int InboxDepth, double InboxOldestSeconds,
        IReadOnlyList<(string Status, int Count)> Outbox, double OutboxOldestDueSeconds,
        int WebhookBacklog, double WebhookOldestSeconds,
        IReadOnlyList<(string Band, int Count)> DailyLimitUse, long SentToday);

    private static readonly Snapshot Empty = new([], [], 0, 0, [], 0, 0, 0, [], 0);
    private static readonly string[] Bands = ["under_50", "50_80", "80_100", "at_limit", "no_limit"];
    private static readonly MessageStatus[] Open = [MessageStatus.Scheduled, MessageStatus.Queued, MessageStatus.Held, MessageStatus.Sending, MessageStatus.InDoubt];

    private readonly IServiceScopeFactory scopes;
    private readonly TimeProvider time;
    private readonly IOptions<MetricsOptions> options;
    private readonly ILogger<StateGauges> logger;
    private readonly SemaphoreSlim refreshing = new(1, 1);
    private Snapshot current = Empty;
    private DateTime readAt = DateTime.MinValue;

    public StateGauges(ZapHubMetrics metrics, IServiceScopeFactory scopes, TimeProvider time, IOptions<MetricsOptions> options, ILogger<StateGauges> logger)
    {
        (this.scopes, this.time, this.options, this.logger) = (scopes, time, options, logger);
        var meter = metrics.Meter;
        meter.CreateObservableGauge("zaphub.numbers", () => current.Numbers.Select(n =>
            new Measurement<int>(n.Count, new("state", n.State), new("gateway", n.Gateway), new("provider", n.Provider))), "{number}", "Numbers by state and gateway server.");
        meter.CreateObservableGauge("zaphub.gateway.up", () => current.Gateways.Select(g =>
            new Measurement<int>(g.Up ? 1 : 0, new("gateway", g.Gateway), new("provider", g.Provider))), null, "1 when the gateway's last connection test passed, 0 when it failed or it is disabled.");
        meter.CreateObservableGauge("zaphub.inbox.depth", () => current.InboxDepth, "{event}", "Gateway events stored and not yet processed.");
        meter.CreateObservableGauge("zaphub.inbox.oldest_age", () => current.InboxOldestSeconds, "s", "Age of the oldest unprocessed gateway event.");
        meter.CreateObservableGauge("zaphub.outbox.depth", () => current.Outbox.Select(o => new Measurement<int>(o.Count, new KeyValuePair<string, object?>("status", o.Status))),
            "{message}", "Messages not yet handed to a gateway (or in doubt), by status.");
        meter.CreateObservableGauge("zaphub.outbox.oldest_due_age", () => current.OutboxOldestDueSeconds, "s", "How long the longest-due queued message has been due.");
        meter.CreateObservableGauge("zaphub.webhooks.backlog", () => current.WebhookBacklog, "{delivery}", "Event deliveries to tenants' endpoints not yet succeeded or given up.");
        meter.CreateObservableGauge("zaphub.webhooks.oldest_due_age", () => current.WebhookOldestSeconds, "s", "How long the longest-due pending delivery has been due.");
        meter.CreateObservableGauge("zaphub.numbers.daily_limit_use", () => current.DailyLimitUse.Select(b => new Measurement<int>(b.Count, new KeyValuePair<string, object?>("band", b.Band))),
            "{number}", "Numbers that sent today, by how much of their daily limit they used: under_50, 50_80, 80_100, at_limit, no_limit.");
        meter.CreateObservableGauge("zaphub.messages.sent_today", () => current.SentToday, "{message}", "Messages sent today, each number counted in its tenant's day.");
    }

    /// <summary>Reads the figures again unless they are younger than the configured age.</summary>
    public async Task RefreshAsync(CancellationToken ct)
    {
        if (time.UtcNow() - readAt < options.Value.GaugeMaxAge) return;
        await refreshing.WaitAsync(ct);
        try
        {
            var now = time.UtcNow();
            if (now - readAt < options.Value.GaugeMaxAge) return;
            current = await ReadAsync(now, ct);
            readAt = now;
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            // The scrape still answers (with the last figures and the runtime's own); the database's trouble shows in /health/ready.
            logger.LogWarning(ex, "Could not read the figures for the metrics");
        }
        finally { refreshing.Release(); }
    }

    private async Task<Snapshot> ReadAsync(DateTime now, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<TenantContext>().UseWorkerScope();
        var db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();

        var gateways = await db.Gateways.AsNoTracking().Select(g => new { g.Id, g.Name, g.Kind, g.Enabled, g.LastCheckOk }).ToListAsync(ct);
        var byId = gateways.ToDictionary(g => g.Id);
        var numbers = (await db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).GroupBy(s => new { s.State, s.GatewayId })
                .Select(g => new { g.Key.State, g.Key.GatewayId, Count = g.Count() }).ToListAsync(ct))
            .Select(n => (n.State.ToString(), byId.TryGetValue(n.GatewayId, out var g) ? g.Name : "?", byId.TryGetValue(n.GatewayId, out var k) ? k.Kind.ToString() : "?", n.Count))
            .ToList();

        var inbox = db.GatewayEvents.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(e => e.ProcessedAt == null);
        var inboxDepth = await inbox.CountAsync(ct);
        var inboxOldest = inboxDepth == 0 ? (DateTime?)null : await inbox.MinAsync(e => (DateTime?)e.ReceivedAt, ct);

        var messages = db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter]);
        // Every status and band is reported, zero included, so an alert never has to tell "none" from "no series".
        var open = (await messages.Where(m => Open.Contains(m.Status)).GroupBy(m => m.Status).Select(g => new { g.Key, Count = g.Count() }).ToListAsync(ct))
            .ToDictionary(o => o.Key, o => o.Count);
        var outbox = Open.Select(status => (status.ToString(), open.GetValueOrDefault(status))).ToList();
        var oldestDue = await messages.Where(m => m.Status == MessageStatus.Queued && m.DueAt <= now).MinAsync(m => (DateTime?)m.DueAt, ct);

        var deliveries = db.WebhookDeliveries.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(d => d.Status == DeliveryStatus.Pending);
        var backlog = await deliveries.CountAsync(ct);
        var oldestDelivery = backlog == 0 ? (DateTime?)null : await deliveries.Where(d => d.NextAttemptAt <= now).MinAsync(d => (DateTime?)d.NextAttemptAt, ct);

        var (bands, sentToday) = await DailyLimitUseAsync(db, now, ct);
        return new Snapshot(numbers, gateways.Select(g => (g.Name, g.Kind.ToString(), g.Enabled && g.LastCheckOk != false)).ToList(),
            inboxDepth, Age(inboxOldest), outbox, Age(oldestDue), backlog, Age(oldestDelivery), bands, sentToday);

        double Age(DateTime? since) => since is { } at && at < now ? (now - at).TotalSeconds : 0;
    }

    /// <summary>Each number that sent today against its own limit (warm-up included), in its tenant's day.</summary>
    private static async Task<(List<(string, int)>, long)> DailyLimitUseAsync(ZapHubDb db, DateTime now, CancellationToken ct)
    {
        var senders = await db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking().Where(s => s.SentToday > 0 && s.SentTodayDate != null).ToListAsync(ct);
        var tenantIds = senders.Select(s => s.TenantId).Distinct().ToList();
        // Two queries for all the tenants with a sender, not two per tenant.
        var settings = await db.MessagingSettings.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking().Where(x => tenantIds.Contains(x.TenantId)).ToDictionaryAsync(x => x.TenantId, ct);
        var zones = await db.Tenants.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(t => tenantIds.Contains(t.Id)).ToDictionaryAsync(t => t.Id, t => t.TimeZone, ct);
        var bands = new Dictionary<string, int>();
        long sent = 0;
        var rules = new Dictionary<Guid, (MessagingSettings Settings, TimeZoneInfo Zone)>();
        foreach (var s in senders)
        {
            if (!rules.TryGetValue(s.TenantId, out var r))
                rules[s.TenantId] = r = (settings.GetValueOrDefault(s.TenantId) ?? new MessagingSettings { TenantId = s.TenantId },
                    TimeZoneInfo.FindSystemTimeZoneById(zones.GetValueOrDefault(s.TenantId) ?? Features.Tenancy.Tenant.DefaultTimeZone));
            if (s.SentTodayDate != Governor.Today(r.Zone, now)) continue;
            sent += s.SentToday;
            var band = Governor.DailyLimit(s, r.Settings, r.Zone, now) is not { } limit ? "no_limit"
                : s.SentToday >= limit ? "at_limit"
                : (s.SentToday * 100 / Math.Max(1, limit)) switch { < 50 => "under_50", < 80 => "50_80", _ => "80_100" };
            bands[band] = bands.GetValueOrDefault(band) + 1;
        }
        return (Bands.Select(b => (b, bands.GetValueOrDefault(b))).ToList(), sent);
    }
}
