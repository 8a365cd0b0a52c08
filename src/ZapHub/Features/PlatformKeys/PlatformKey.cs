namespace ZapHub.Features.PlatformKeys;

/// <summary>
/// A key for the backend of the platform that runs ZapHub: it manages tenants and acts inside any tenant it names
/// in the <c>ZapHub-Tenant</c> header, with the same routes and scopes a tenant's own key has. Belongs to no tenant.
/// </summary>
public sealed class PlatformKey
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public required string Name { get; set; }

    /// <summary>The public start of the key ("zhp_" + 10 chars): finds the row and shows which key it is.</summary>
    public required string Prefix { get; set; }

    /// <summary>SHA-256 of the whole key (190+ random bits, so a fast hash is enough).</summary>
    public required byte[] Hash { get; set; }

    /// <summary>Space-separated: <see cref="PlatformScopes.TenantsManage"/> and any tenant scopes it may use inside a tenant.</summary>
    public required string Scopes { get; set; }

    public DateTime CreatedAt { get; set; }
    public Guid? CreatedByUserId { get; set; }
    public DateTime? LastUsedAt { get; set; }
    public DateTime? RevokedAt { get; set; }

    public IReadOnlyList<string> ScopeList => Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
