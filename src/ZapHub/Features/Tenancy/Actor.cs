using System.Security.Claims;

namespace ZapHub.Features.Tenancy;

/// <summary>Who performs an action: recorded in the audit log.</summary>
public sealed record Actor(ActorKind Kind, string? Id, string Name, string? IpAddress = null)
{
    public static readonly Actor System = new(ActorKind.System, null, "system");

    public static Actor From(ClaimsPrincipal principal, string? ip = null)
    {
        var id = principal.FindFirstValue(ClaimTypes.NameIdentifier);
        var name = principal.Identity?.Name ?? id ?? "unknown";
        var kind = principal.HasClaim(ZapHubClaims.ActorKind, nameof(ActorKind.ApiKey)) ? ActorKind.ApiKey
            : principal.HasClaim(ZapHubClaims.ActorKind, nameof(ActorKind.PlatformKey)) ? ActorKind.PlatformKey
            : ActorKind.User;
        return new Actor(kind, id, name, ip);
    }

    /// <summary>A key (a tenant's or the platform's): scopes decide what it may do, not roles.</summary>
    public bool IsKey => Kind is ActorKind.ApiKey or ActorKind.PlatformKey;

    public Guid? UserId => Kind == ActorKind.User && Guid.TryParse(Id, out var g) ? g : null;
}

public static class ZapHubClaims
{
    public const string Tenant = "zaphub:tenant";
    public const string Operator = "zaphub:operator";
    public const string Scope = "zaphub:scope";
    public const string ActorKind = "zaphub:actor";
    public const string MustChangePassword = "zaphub:must_change_password";
}
