using ZapHub.Data;

namespace ZapHub.Features.Tenancy;

public sealed class ApiKey : ITenantOwned
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid TenantId { get; set; }
    public required string Name { get; set; }

    /// <summary>The public, non-secret start of the key ("zh_" + 10 chars): used to find the row and to show it.</summary>
    public required string Prefix { get; set; }

    /// <summary>SHA-256 of the whole key. Keys carry 190+ bits of randomness, so a fast hash is enough.</summary>
    public required byte[] Hash { get; set; }

    /// <summary>Space-separated scopes, see <see cref="ApiScopes"/>.</summary>
    public required string Scopes { get; set; }

    public DateTime CreatedAt { get; set; }
    public Guid? CreatedByUserId { get; set; }
    public DateTime? LastUsedAt { get; set; }
    public DateTime? RevokedAt { get; set; }

    public IReadOnlyList<string> ScopeList => Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
