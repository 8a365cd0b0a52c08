using Microsoft.EntityFrameworkCore;
using ZapHub.Data;
using ZapHub.Platform;

namespace ZapHub.Features.Tenancy;

/// <summary>
/// Marks an endpoint as acting on the current tenant's resources. <see cref="Scope"/> is what an API key needs;
/// null means API keys may not use the route at all (dashboard-only). <see cref="Role"/> is the least role a
/// signed-in member needs. The cross-tenant test finds every tenant route through this metadata.
/// </summary>
public sealed record TenantRouteMetadata(string? Scope, TenantRole Role);

public static class TenantAccess
{
    /// <summary>The header a platform key names the tenant it acts for with (the tenant's id or slug).</summary>
    public const string TenantHeader = "ZapHub-Tenant";

    /// <summary>
    /// The first isolation layer: resolve the tenant from the credentials, once per request.
    /// API keys carry their tenant; a signed-in user carries the tenant they switched to, re-checked here
    /// against a live membership so a removed member loses access at once; a platform key names one in
    /// <see cref="TenantHeader"/>, which nothing else may send.
    /// </summary>
    public static IApplicationBuilder UseTenantResolution(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            var user = context.User;
            if (user.Identity?.IsAuthenticated == true)
            {
                var tenantContext = context.RequestServices.GetRequiredService<TenantContext>();
                var db = context.RequestServices.GetRequiredService<ZapHubDb>();
                var named = context.Request.Headers[TenantHeader].ToString().Trim();
                if (named.Length > 0)
                {
                    if (Actor.From(user).Kind != ActorKind.PlatformKey)
                    {
                        await ProblemResponses.WriteAsync(context, StatusCodes.Status403Forbidden, $"Only a platform key may name a tenant in {TenantHeader}.",
                            "A tenant's key and a signed-in member always act for their own tenant.", "tenant_header_refused");
                        return;
                    }
                    var slug = named.ToLowerInvariant();
                    var id = Guid.TryParse(named, out var given) ? given
                        : await db.Tenants.Where(t => t.Slug == slug).Select(t => (Guid?)t.Id).FirstOrDefaultAsync(context.RequestAborted);
                    if (id is { } platformTenant) await ResolveAsync(db, tenantContext, user, platformTenant, context.RequestAborted);
                }
                else if (Guid.TryParse(user.FindFirst(ZapHubClaims.Tenant)?.Value, out var tenantId))
                    await ResolveAsync(db, tenantContext, user, tenantId, context.RequestAborted);
            }
            await next(context);
        });

    public static async Task<bool> ResolveAsync(ZapHubDb db, TenantContext tenantContext, System.Security.Claims.ClaimsPrincipal user, Guid tenantId, CancellationToken ct)
    {
        if (Actor.From(user).IsKey)
        {
            if (!await db.Tenants.AnyAsync(t => t.Id == tenantId && t.Enabled, ct)) return false;
            tenantContext.Set(tenantId, null);
            return true;
        }
        if (Actor.From(user).UserId is not { } userId) return false;
        // One round trip: the tenant must be enabled and the user still a member.
        var role = await db.Memberships.IgnoreQueryFilters([ZapHubDb.TenantFilter])
            .Where(m => m.TenantId == tenantId && m.UserId == userId && db.Tenants.Any(t => t.Id == tenantId && t.Enabled))
            .Select(m => (TenantRole?)m.Role).FirstOrDefaultAsync(ct);
        if (role is null) return false;
        tenantContext.Set(tenantId, role);
        return true;
    }

    /// <summary>Requires a resolved tenant, the scope for API keys (or no API keys at all), and the role for members.</summary>
    public static TBuilder RequireTenant<TBuilder>(this TBuilder builder, string? scope, TenantRole role = TenantRole.Member)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.RequireAuthorization();
        builder.WithMetadata(new TenantRouteMetadata(scope, role));
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var tenant = http.RequestServices.GetRequiredService<TenantContext>();
            if (tenant.TenantId is null)
                return Problem(403, "no_tenant", "No active tenant: the tenant is disabled, you are not a member of it, or a platform key did not name one in ZapHub-Tenant.");
            var isApiKey = Actor.From(http.User).IsKey;
            if (isApiKey && scope is null)
                return Problem(403, "dashboard_only", "This route is available to signed-in members only, not to API keys.");
            if (isApiKey && !http.User.HasClaim(ZapHubClaims.Scope, scope!))
                return Problem(403, "missing_scope", $"The API key lacks the '{scope}' scope.");
            if (!isApiKey && tenant.Role < role)
                return Problem(403, "role_required", $"This action requires the {role} role.");
            return await next(context);
        });
        return builder;
    }

    private static IResult Problem(int status, string code, string title) =>
        TypedResults.Problem(statusCode: status, title: title, extensions: new Dictionary<string, object?> { ["code"] = code });
}
