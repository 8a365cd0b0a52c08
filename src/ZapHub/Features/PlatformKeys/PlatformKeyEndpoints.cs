using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Http.HttpResults;
using ZapHub.Features.Admin;
using ZapHub.Features.Tenancy;
using ZapHub.Platform;

namespace ZapHub.Features.PlatformKeys;

public sealed record CreatePlatformKeyRequest([property: Required, StringLength(100, MinimumLength = 1)] string Name, [property: Required] string[] Scopes);

public static class PlatformKeyEndpoints
{
    /// <summary>Tenant management: a signed-in operator, or a platform key with <see cref="PlatformScopes.TenantsManage"/>.</summary>
    public const string TenantsPolicy = "tenants";

    public static IServiceCollection AddPlatformKeys(this IServiceCollection services)
    {
        services.AddScoped<PlatformKeyService>();
        services.AddAuthorizationBuilder().AddPolicy(TenantsPolicy, p => p
            .RequireAuthenticatedUser()
            .RequireAssertion(c => c.User.HasClaim(ZapHubClaims.Operator, "true")
                || (c.User.HasClaim(ZapHubClaims.ActorKind, nameof(ActorKind.PlatformKey)) && c.User.HasClaim(ZapHubClaims.Scope, PlatformScopes.TenantsManage))));
        return services;
    }

    /// <summary>Operators manage platform keys; a platform key cannot make or see another.</summary>
    public static IEndpointRouteBuilder MapPlatformKeys(this IEndpointRouteBuilder app)
    {
        var keys = app.MapGroup("/api/v1/admin/platform-keys").WithTags("Operator")
            .RequireAuthorization(AdminEndpoints.OperatorPolicy).RequireRateLimiting(RateLimits.Api);
        keys.MapGet("/", (PlatformKeyService svc, CancellationToken ct) => svc.ListAsync(ct)).WithName("AdminListPlatformKeys");
        keys.MapPost("/", async Task<Created<CreatedPlatformKey>> (CreatePlatformKeyRequest body, PlatformKeyService svc, HttpContext http, CancellationToken ct) =>
        {
            var created = await svc.CreateAsync(Actor.From(http.User, TenancyEndpoints.Ip(http)), body.Name, body.Scopes, ct);
            return TypedResults.Created($"/api/v1/admin/platform-keys/{created.PlatformKey.Id}", created);
        }).WithName("AdminCreatePlatformKey")
            .WithSummary("Creates a key for the platform's backend: tenants:manage and the tenant scopes it may use inside the tenant it names in ZapHub-Tenant. Shown in this response only.");
        keys.MapDelete("/{platformKeyId:guid}", async (Guid platformKeyId, PlatformKeyService svc, HttpContext http, CancellationToken ct) =>
        {
            await svc.RevokeAsync(Actor.From(http.User, TenancyEndpoints.Ip(http)), platformKeyId, ct);
            return TypedResults.NoContent();
        }).WithName("AdminRevokePlatformKey");
        return app;
    }
}
