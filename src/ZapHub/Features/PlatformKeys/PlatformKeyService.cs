using Microsoft.EntityFrameworkCore;
using ZapHub.Data;
using ZapHub.Features.Tenancy;
using ZapHub.Platform;

namespace ZapHub.Features.PlatformKeys;

public sealed record PlatformKeyView(Guid Id, string Name, string Prefix, IReadOnlyList<string> Scopes, DateTime CreatedAt, DateTime? LastUsedAt, DateTime? RevokedAt)
{
    public static PlatformKeyView From(PlatformKey k) => new(k.Id, k.Name, k.Prefix, k.ScopeList, k.CreatedAt, k.LastUsedAt, k.RevokedAt);
}

/// <summary>The key itself appears only in this response, once.</summary>
public sealed record CreatedPlatformKey(PlatformKeyView PlatformKey, string Key);

/// <summary>Platform keys, managed by operators in the console (and their API). Audited without a tenant.</summary>
public sealed class PlatformKeyService(ZapHubDb db, AuditLog audit, TimeProvider time)
{
    public async Task<IReadOnlyList<PlatformKeyView>> ListAsync(CancellationToken ct) =>
        (await db.PlatformKeys.AsNoTracking().OrderByDescending(k => k.CreatedAt).ToListAsync(ct)).Select(PlatformKeyView.From).ToList();

    public async Task<CreatedPlatformKey> CreateAsync(Actor actor, string name, IReadOnlyCollection<string> scopes, CancellationToken ct)
    {
        (name, var granted) = ApiKeyFormat.Checked(name, scopes, PlatformScopes.All);
        var (prefix, key) = ApiKeyFormat.Generate(ApiKeyFormat.PlatformKind);
        var row = new PlatformKey
        {
            Name = name,
            Prefix = prefix,
            Hash = ApiKeyFormat.Hash(key),
            Scopes = granted,
            CreatedAt = time.UtcNow(),
            CreatedByUserId = actor.UserId,
        };
        db.PlatformKeys.Add(row);
        audit.Add(db, actor, null, "platformkey.created", "platform_key", row.Id.ToString(), $"{name} ({row.Scopes})");
        await db.SaveChangesAsync(ct);
        return new CreatedPlatformKey(PlatformKeyView.From(row), key);
    }

    public async Task RevokeAsync(Actor actor, Guid id, CancellationToken ct)
    {
        var key = await db.PlatformKeys.FirstOrDefaultAsync(k => k.Id == id, ct) ?? throw ProblemException.NotFound("Platform key");
        if (key.RevokedAt is not null) return;
        key.RevokedAt = time.UtcNow();
        audit.Add(db, actor, null, "platformkey.revoked", "platform_key", key.Id.ToString(), key.Name);
        await db.SaveChangesAsync(ct);
    }
}
