using Microsoft.EntityFrameworkCore;
using ZapHub.Data;
using ZapHub.Features.Sessions;
using ZapHub.Gateways;
using ZapHub.Platform;

namespace ZapHub.Features.Admin;

/// <summary>One number as the operator sees it across tenants.</summary>
public sealed record NumberRow(Guid Id, Guid TenantId, string Tenant, string Name, string? Phone, SessionState State, Guid GatewayId, string Gateway,
    bool GatewayReachable, DateTime? LastEventAt, int RefusedEvents, string? LastRefusedInstance);

/// <summary>
/// Every number of every tenant for the operator, a page at a time (the console and the API read the same pages):
/// filters narrow in the database, sorted by tenant and name, never cut at a cap.
/// </summary>
public static class AllNumbers
{
    public static Task<Paged<NumberRow>> PageAsync(ZapHubDb db, SessionFilter filter, int? page, int? pageSize, CancellationToken ct) =>
        filter.Apply(db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking())
            .Join(db.Tenants, s => s.TenantId, t => t.Id, (s, t) => new { s, Tenant = t.Name })
            .Join(db.Gateways, x => x.s.GatewayId, g => g.Id, (x, g) => new { x.s, x.Tenant, Gateway = g })
            .OrderBy(x => x.Tenant).ThenBy(x => x.s.DisplayName).ThenBy(x => x.s.Id)
            .Select(x => new NumberRow(x.s.Id, x.s.TenantId, x.Tenant, x.s.DisplayName, x.s.Phone, x.s.State, x.Gateway.Id, x.Gateway.Name,
                x.Gateway.UnreachableSince == null, x.s.LastEventAt, x.s.RefusedEvents, x.s.LastRefusedInstance))
            .PageAsync(page, pageSize, 50, ct);
}
