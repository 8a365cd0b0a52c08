using ZapHub.Platform;
using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using ZapHub.Data;

namespace ZapHub.Features.Tenancy;

public sealed record CreateApiKeyRequest([property: Required, StringLength(100, MinimumLength = 1)] string Name, [property: Required] string[] Scopes);
public sealed record AddMemberRequest([property: Required, EmailAddress] string Email, TenantRole Role = TenantRole.Member);
public sealed record ChangeRoleRequest(TenantRole Role);
public sealed record CurrentTenantView(Guid Id, string Name, string Slug, string TimeZone, string Locale, string? Role);
/// <summary>An audit entry; <c>details</c> in English, <c>detailsCode</c> stable when the details are a stored note.</summary>
public sealed record AuditView(Guid Id, DateTime At, Guid? TenantId, string ActorKind, string ActorName, string Action, string? TargetType, string? TargetId, string? Details)
{
    public string? DetailsCode => Note.Read(StoredDetails)?.Code;

    /// <summary>The stored details, for the dashboard to show in the reader's language.</summary>
    [System.Text.Json.Serialization.JsonIgnore] public string? StoredDetails { get; init; }
}

public static class TenancyEndpoints
{
    public static IServiceCollection AddTenancy(this IServiceCollection services)
    {
        services.AddScoped<ApiKeyService>();
        services.AddScoped<MemberService>();
        services.AddSingleton<AuditLog>();
        return services;
    }

    public static IEndpointRouteBuilder MapTenancy(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/v1").WithTags("Tenant").RequireRateLimiting(RateLimits.Api);

        api.MapGet("/tenant", async Task<Ok<CurrentTenantView>> (ZapHubDb db, TenantContext tenant, CancellationToken ct) =>
        {
            var t = await db.Tenants.AsNoTracking().FirstAsync(x => x.Id == tenant.TenantId, ct);
            return TypedResults.Ok(new CurrentTenantView(t.Id, t.Name, t.Slug, t.TimeZone, t.Locale, tenant.Role?.ToString()));
        }).RequireTenant(ApiScopes.SessionsRead).WithName("GetCurrentTenant").WithSummary("The tenant the credentials act for.");

        var keys = api.MapGroup("/api-keys").WithTags("API keys");
        keys.MapGet("/", (ApiKeyService svc, CancellationToken ct) => svc.ListAsync(ct))
            .RequireTenant(null, TenantRole.Admin).WithName("ListApiKeys");
        keys.MapPost("/", async Task<Created<CreatedApiKey>> (CreateApiKeyRequest body, ApiKeyService svc, HttpContext http, CancellationToken ct) =>
        {
            var created = await svc.CreateAsync(Actor.From(http.User, Ip(http)), body.Name, body.Scopes, ct);
            return TypedResults.Created($"/api/v1/api-keys/{created.ApiKey.Id}", created);
        }).RequireTenant(null, TenantRole.Admin).WithName("CreateApiKey").WithSummary("Creates a key; the key is shown in this response only.");
        keys.MapDelete("/{apiKeyId:guid}", async (Guid apiKeyId, ApiKeyService svc, HttpContext http, CancellationToken ct) =>
        {
            await svc.RevokeAsync(Actor.From(http.User, Ip(http)), apiKeyId, ct);
            return TypedResults.NoContent();
        }).RequireTenant(null, TenantRole.Admin).WithName("RevokeApiKey");

        var members = api.MapGroup("/members").WithTags("Members");
        members.MapGet("/", (MemberService svc, CancellationToken ct) => svc.ListAsync(ct))
            .RequireTenant(null).WithName("ListMembers");
        members.MapPost("/", async Task<Created<AddedMember>> (AddMemberRequest body, MemberService svc, HttpContext http, CancellationToken ct) =>
        {
            var added = await svc.AddAsync(Actor.From(http.User, Ip(http)), body.Email, body.Role, ct);
            return TypedResults.Created($"/api/v1/members/{added.Member.Id}", added);
        }).RequireTenant(null, TenantRole.Owner).WithName("AddMember").WithSummary("Adds a member; a new account's one-time password is shown in this response only.");
        members.MapPut("/{memberId:guid}/role", async (Guid memberId, ChangeRoleRequest body, MemberService svc, HttpContext http, CancellationToken ct) =>
        {
            await svc.ChangeRoleAsync(Actor.From(http.User, Ip(http)), memberId, body.Role, ct);
            return TypedResults.NoContent();
        }).RequireTenant(null, TenantRole.Owner).WithName("ChangeMemberRole");
        members.MapDelete("/{memberId:guid}", async (Guid memberId, MemberService svc, HttpContext http, CancellationToken ct) =>
        {
            await svc.RemoveAsync(Actor.From(http.User, Ip(http)), memberId, ct);
            return TypedResults.NoContent();
        }).RequireTenant(null, TenantRole.Owner).WithName("RemoveMember");

        api.MapGet("/audit", (ZapHubDb db, DateTime? before, int? limit, CancellationToken ct) => ReadAuditAsync(db.AuditEntries, before, limit, ct))
            .RequireTenant(null, TenantRole.Admin).WithTags("Audit").WithName("ListAudit").WithSummary("The tenant's audit log, newest first.");
        return app;
    }

    public static async Task<List<AuditView>> ReadAuditAsync(IQueryable<AuditEntry> source, DateTime? before, int? limit, CancellationToken ct)
    {
        var take = Math.Clamp(limit ?? 50, 1, 500);
        var query = source.AsNoTracking();
        if (before is { } b)
        {
            var cutoff = b.ToUniversalTime();
            query = query.Where(a => a.At < cutoff);
        }
        var rows = await query.OrderByDescending(a => a.At).ThenByDescending(a => a.Id).Take(take).ToListAsync(ct);
        return rows.Select(a => new AuditView(a.Id, a.At, a.TenantId, a.ActorKind.ToString(), a.ActorName, a.Action, a.TargetType, a.TargetId,
            a.Details is null ? null : Components.Text.English(a.Details)) { StoredDetails = a.Details }).ToList();
    }

    public static string? Ip(HttpContext http) => http.Connection.RemoteIpAddress?.ToString();
}
