using ZapHub.Platform;
using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using ZapHub.Data;
using ZapHub.Features.Tenancy;

namespace ZapHub.Features.Admin;

public sealed record CreateTenantRequest(
    [property: Required] string Name,
    [property: Required] string Slug,
    [property: Required, EmailAddress] string OwnerEmail,
    string? TimeZone = null,
    string? Locale = null,
    int? MaxSessions = null);

public sealed record UpdateTenantRequest([property: Required] string Name, [property: Required] string Slug, string? TimeZone, string? Locale, int? MaxSessions);

public static class AdminEndpoints
{
    public const string OperatorPolicy = "operator";

    public static IServiceCollection AddAdmin(this IServiceCollection services)
    {
        services.AddScoped<TenantAdminService>();
        services.AddScoped<Gateways.GatewayAdmin>();
        services.AddAuthorizationBuilder().AddPolicy(OperatorPolicy, p => p
            .RequireAuthenticatedUser()
            .RequireClaim(ZapHubClaims.Operator, "true"));
        return services;
    }

    public static IEndpointRouteBuilder MapAdmin(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/api/v1/admin").WithTags("Operator").RequireAuthorization(OperatorPolicy).RequireRateLimiting(RateLimits.Api);

        admin.MapGet("/tenants", (TenantAdminService svc, CancellationToken ct) => svc.ListAsync(ct)).WithName("AdminListTenants");
        admin.MapGet("/tenants/{tenantId:guid}", (Guid tenantId, TenantAdminService svc, CancellationToken ct) => svc.GetAsync(tenantId, ct))
            .WithName("AdminGetTenant");
        admin.MapPost("/tenants", async Task<Created<CreatedTenant>> (CreateTenantRequest body, TenantAdminService svc, HttpContext http, CancellationToken ct) =>
        {
            var created = await svc.CreateAsync(Actor.From(http.User, TenancyEndpoints.Ip(http)),
                new TenantInput(body.Name, body.Slug, body.TimeZone, body.Locale, body.MaxSessions), body.OwnerEmail, ct);
            return TypedResults.Created($"/api/v1/admin/tenants/{created.Tenant.Id}", created);
        }).WithName("AdminCreateTenant").WithSummary("Creates a tenant and its owner; a new owner's one-time password is shown in this response only.");
        admin.MapPut("/tenants/{tenantId:guid}", (Guid tenantId, UpdateTenantRequest body, TenantAdminService svc, HttpContext http, CancellationToken ct) =>
            svc.UpdateAsync(Actor.From(http.User, TenancyEndpoints.Ip(http)), tenantId, new TenantInput(body.Name, body.Slug, body.TimeZone, body.Locale, body.MaxSessions), ct))
            .WithName("AdminUpdateTenant");
        admin.MapPost("/tenants/{tenantId:guid}/disable", (Guid tenantId, TenantAdminService svc, HttpContext http, CancellationToken ct) =>
            svc.SetEnabledAsync(Actor.From(http.User, TenancyEndpoints.Ip(http)), tenantId, false, ct)).WithName("AdminDisableTenant");
        admin.MapPost("/tenants/{tenantId:guid}/enable", (Guid tenantId, TenantAdminService svc, HttpContext http, CancellationToken ct) =>
            svc.SetEnabledAsync(Actor.From(http.User, TenancyEndpoints.Ip(http)), tenantId, true, ct)).WithName("AdminEnableTenant");
        admin.MapGet("/audit", (ZapHubDb db, Guid? tenantId, DateTime? before, int? limit, CancellationToken ct) =>
        {
            var source = db.AuditEntries.IgnoreQueryFilters([ZapHubDb.TenantFilter]);
            if (tenantId is { } id) source = source.Where(a => a.TenantId == id);
            return TenancyEndpoints.ReadAuditAsync(source, before, limit, ct);
        }).WithName("AdminListAudit").WithSummary("Every tenant's audit log and the platform's, newest first.");
        Gateways.GatewayEndpoints.MapGateways(admin);
        admin.MapGet("/gateway-events", async (ZapHubDb db, Guid? sessionId, int? limit, CancellationToken ct) =>
        {
            var query = db.GatewayEvents.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking();
            if (sessionId is { } id) query = query.Where(e => e.SessionId == id);
            var rows = await query.OrderByDescending(e => e.Id).Take(Math.Clamp(limit ?? 100, 1, 1000))
                .Select(e => new { e.Id, e.SessionId, e.TenantId, e.ReceivedAt, e.ProcessedAt, e.Error, e.Body }).ToListAsync(ct);
            // Refused events are not stored (they never reach the inbox); a number's count of them is kept on the number.
            var refused = sessionId is { } one
                ? await db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(s => s.Id == one)
                    .Select(s => new { count = s.RefusedEvents, lastAt = s.LastRefusedAt, lastInstance = s.LastRefusedInstance }).FirstOrDefaultAsync(ct)
                : null;
            return new { total = await query.CountAsync(ct), events = rows, refused };
        }).WithName("AdminListGatewayEvents").WithSummary("The raw gateway webhooks received (the inbox), newest first, for diagnosis; " +
            "with a sessionId, also how many webhooks naming another instance that number's URL refused.");
        return app;
    }
}
