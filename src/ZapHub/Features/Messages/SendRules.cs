using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using ZapHub.Data;

namespace ZapHub.Features.Messages;

/// <summary>A tenant's sending rules and time zone as the dispatcher uses them, read at most every two seconds.</summary>
public sealed record TenantSendRules(MessagingSettings Settings, TimeZoneInfo Zone, DateTime Until);

/// <summary>
/// Each tenant's rules, cached for two seconds: every message's decision reads them, and a change must reach every node
/// soon (this node at once, through <see cref="Forget"/>).
/// </summary>
public sealed class SendRules
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(2);
    private readonly ConcurrentDictionary<Guid, TenantSendRules> cache = new();

    public async Task<TenantSendRules> ForAsync(ZapHubDb db, Guid tenantId, DateTime now, CancellationToken ct)
    {
        if (cache.TryGetValue(tenantId, out var cached) && cached.Until > now && cached.Until - now <= Lifetime) return cached;
        var settings = await MessagingSettingsService.LoadAsync(db, tenantId, ct);
        var zone = await db.Tenants.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(t => t.Id == tenantId).Select(t => t.TimeZone).FirstOrDefaultAsync(ct)
            ?? Tenancy.Tenant.DefaultTimeZone;
        var fresh = new TenantSendRules(settings, TimeZoneInfo.FindSystemTimeZoneById(zone), now + Lifetime);
        cache[tenantId] = fresh;
        return fresh;
    }

    /// <summary>Drops a tenant's cached rules on this node after they changed (other nodes re-read within seconds).</summary>
    public void Forget(Guid tenantId) => cache.TryRemove(tenantId, out _);
}
