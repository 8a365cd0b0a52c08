using Microsoft.EntityFrameworkCore;
using ZapHub.Data;
using ZapHub.Platform;

namespace ZapHub.Features.Tenancy;

public sealed record ApiKeyView(Guid Id, string Name, string Prefix, IReadOnlyList<string> Scopes, DateTime CreatedAt, DateTime? LastUsedAt, DateTime? RevokedAt)
{
    public static ApiKeyView From(ApiKey k) => new(k.Id, k.Name, k.Prefix, k.ScopeList, k.CreatedAt, k.LastUsedAt, k.RevokedAt);
}

/// <summary>The key itself appears only in this response, once.</summary>
public sealed record CreatedApiKey(ApiKeyView ApiKey, string Key);

/// <summary>API key operations shared by the REST API and the dashboard. Works on the scope's tenant only.</summary>
public sealed class ApiKeyService(ZapHubDb db, TenantContext tenant, AuditLog audit, TimeProvider time)
{
    public async Task<IReadOnlyList<ApiKeyView>> ListAsync(CancellationToken ct) =>
        (await db.ApiKeys.AsNoTracking().OrderByDescending(k => k.CreatedAt).ToListAsync(ct)).Select(ApiKeyView.From).ToList();

    public async Task<CreatedApiKey> CreateAsync(Actor actor, string name, IReadOnlyCollection<string> scopes, CancellationToken ct)
    {
        (name, var granted) = ApiKeyFormat.Checked(name, scopes, ApiScopes.All);
        var (prefix, key) = ApiKeyFormat.Generate();
        var row = new ApiKey
        {
            TenantId = tenant.RequireTenant(),
            Name = name,
            Prefix = prefix,
            Hash = ApiKeyFormat.Hash(key),
            Scopes = granted,
            CreatedAt = time.UtcNow(),
            CreatedByUserId = actor.UserId,
        };
        db.ApiKeys.Add(row);
        audit.Add(db, actor, row.TenantId, "apikey.created", "api_key", row.Id.ToString(), $"{name} ({row.Scopes})");
        await db.SaveChangesAsync(ct);
        return new CreatedApiKey(ApiKeyView.From(row), key);
    }

    public async Task RevokeAsync(Actor actor, Guid id, CancellationToken ct)
    {
        var key = await db.ApiKeys.FirstOrDefaultAsync(k => k.Id == id, ct) ?? throw ProblemException.NotFound("API key");
        if (key.RevokedAt is not null) return;
        key.RevokedAt = time.UtcNow();
        audit.Add(db, actor, key.TenantId, "apikey.revoked", "api_key", key.Id.ToString(), key.Name);
        await db.SaveChangesAsync(ct);
    }
}
