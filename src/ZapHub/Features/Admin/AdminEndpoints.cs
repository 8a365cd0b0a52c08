using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using ZapHub.Data;
using ZapHub.Features.Sessions;
using ZapHub.Features.Tenancy;
using ZapHub.Gateways;
using ZapHub.Platform;

namespace ZapHub.Features.Admin;

/// <param name="EmbedOrigins">Sites allowed to show this tenant's connect page in a frame (and to be sent back to), e.g. https://app.example.com.</param>
/// <param name="LogoUrl">An https image shown on the tenant's connect page.</param>
/// <param name="BrandColor">The connect page's accent colour, #rrggbb.</param>
public sealed record CreateTenantRequest(
    [property: Required] string Name,
    [property: Required] string Slug,
    [property: EmailAddress] string? OwnerEmail = null,
    string? TimeZone = null,
    string? Locale = null,
    int? MaxSessions = null,
    string? LogoUrl = null,
    string? BrandColor = null,
    string[]? EmbedOrigins = null)
{
    public TenantInput Input => new(Name, Slug, TimeZone, Locale, MaxSessions, LogoUrl, BrandColor, EmbedOrigins);
}

public sealed record UpdateTenantRequest([property: Required] string Name, [property: Required] string Slug, string? TimeZone, string? Locale, int? MaxSessions,
    string? LogoUrl = null, string? BrandColor = null, string[]? EmbedOrigins = null)
{
    public TenantInput Input => new(Name, Slug, TimeZone, Locale, MaxSessions, LogoUrl, BrandColor, EmbedOrigins);
}

/// <param name="GatewayId">The gateway to move to; empty for the one placement would choose.</param>
public sealed record MoveSessionRequest(Guid? GatewayId = null);

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

        // Tenant management is also open to the platform's backend (a platform key with tenants:manage).
        var tenants = app.MapGroup("/api/v1/admin/tenants").WithTags("Operator")
            .RequireAuthorization(PlatformKeys.PlatformKeyEndpoints.TenantsPolicy).RequireRateLimiting(RateLimits.Api);
        tenants.MapGet("/", (TenantAdminService svc, CancellationToken ct) => svc.ListAsync(ct)).WithName("AdminListTenants");
        tenants.MapGet("/{tenantId:guid}", (Guid tenantId, TenantAdminService svc, CancellationToken ct) => svc.GetAsync(tenantId, ct))
            .WithName("AdminGetTenant");
        tenants.MapPost("/", async Task<Created<CreatedTenant>> (CreateTenantRequest body, TenantAdminService svc, HttpContext http, CancellationToken ct) =>
        {
            var created = await svc.CreateAsync(Actor.From(http.User, TenancyEndpoints.Ip(http)), body.Input, body.OwnerEmail, ct);
            return TypedResults.Created($"/api/v1/admin/tenants/{created.Tenant.Id}", created);
        }).WithName("AdminCreateTenant").WithSummary("Creates a tenant and, if an ownerEmail is given, its owner; a new owner's one-time password is shown in this response only. " +
            "A platform that keeps its customers in its own app gives no owner.");
        tenants.MapPut("/{tenantId:guid}", (Guid tenantId, UpdateTenantRequest body, TenantAdminService svc, HttpContext http, CancellationToken ct) =>
            svc.UpdateAsync(Actor.From(http.User, TenancyEndpoints.Ip(http)), tenantId, body.Input, ct))
            .WithName("AdminUpdateTenant");
        tenants.MapPost("/{tenantId:guid}/disable", (Guid tenantId, TenantAdminService svc, HttpContext http, CancellationToken ct) =>
            svc.SetEnabledAsync(Actor.From(http.User, TenancyEndpoints.Ip(http)), tenantId, false, ct)).WithName("AdminDisableTenant");
        tenants.MapPost("/{tenantId:guid}/enable", (Guid tenantId, TenantAdminService svc, HttpContext http, CancellationToken ct) =>
            svc.SetEnabledAsync(Actor.From(http.User, TenancyEndpoints.Ip(http)), tenantId, true, ct)).WithName("AdminEnableTenant");
        tenants.MapPost("/{tenantId:guid}/api-keys", async Task<Created<CreatedApiKey>> (Guid tenantId, CreateApiKeyRequest body, TenantAdminService admin,
            IServiceScopeFactory scopes, HttpContext http, CancellationToken ct) =>
        {
            var target = await admin.GetAsync(tenantId, ct);
            // In a scope of the target tenant's own: the request's may already act for another (a named or switched-to tenant).
            await using var scope = scopes.CreateAsyncScope();
            scope.ServiceProvider.GetRequiredService<TenantContext>().Set(target.Id, null);
            var created = await scope.ServiceProvider.GetRequiredService<ApiKeyService>().CreateAsync(Actor.From(http.User, TenancyEndpoints.Ip(http)), body.Name, body.Scopes, ct);
            return TypedResults.Created($"/api/v1/api-keys/{created.ApiKey.Id}", created);
        }).WithName("AdminCreateTenantApiKey").WithSummary("Creates an API key for the tenant (for the platform to hand to a system of the tenant's); shown in this response only.");

        admin.MapGet("/audit", (ZapHubDb db, Guid? tenantId, DateTime? before, int? limit, CancellationToken ct) =>
        {
            var source = db.AuditEntries.IgnoreQueryFilters([ZapHubDb.TenantFilter]);
            if (tenantId is { } id) source = source.Where(a => a.TenantId == id);
            return TenancyEndpoints.ReadAuditAsync(source, before, limit, ct);
        }).WithName("AdminListAudit").WithSummary("Every tenant's audit log and the platform's, newest first.");
        admin.MapGet("/sessions", async (ZapHubDb db, HttpContext http, Guid? tenantId, Guid? gatewayId, SessionState? state, string? search, int? page, int? pageSize,
                CancellationToken ct) => (await AllNumbers.PageAsync(db, new SessionFilter(state, null, search, tenantId, gatewayId), page, pageSize, ct)).WriteHeaders(http))
            .WithName("AdminListSessions")
            .WithSummary("Every tenant's numbers, sorted by tenant and name, a page at a time (?page=&pageSize=, at most 500); filter by tenantId, gatewayId, state or search.");
        admin.MapPost("/sessions/{sessionId:guid}/move", async (Guid sessionId, MoveSessionRequest? body, ZapHubDb db, TenantContext tenant, SessionService sessions,
                HttpContext http, CancellationToken ct) =>
            {
                var tenantId = await db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(s => s.Id == sessionId).Select(s => (Guid?)s.TenantId).FirstOrDefaultAsync(ct)
                    ?? throw ProblemException.NotFound("Session");
                tenant.Set(tenantId, null);
                return await sessions.MoveAsync(Actor.From(http.User, TenancyEndpoints.Ip(http)), sessionId, body?.GatewayId, ct);
            })
            .WithName("AdminMoveSession")
            .WithSummary("Moves a number that is not connected to another gateway (the one named, or the one with most room); it then needs a new scan.");
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
