using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using ZapHub.Data;

namespace ZapHub.Features.GatewayWebhooks;

/// <summary>
/// The receiver's view of each session's callback secret hash, cached so a flood of webhooks costs no query.
/// Misses are not cached: random ids must not grow memory.
/// </summary>
public sealed class SessionSecrets(IServiceScopeFactory scopes)
{
    /// <summary>How much of a foreign instance name is kept: enough to recognise it, not a place to store a payload.</summary>
    public const int MaxInstanceName = 60;

    public sealed record Entry(byte[] Hash, Guid TenantId, ZapHub.Gateways.GatewayKind Kind, string InstanceName);
    private readonly ConcurrentDictionary<Guid, Entry> cache = new();

    /// <summary><paramref name="fresh"/> reads past the cache: another node may have renamed the instance meanwhile.</summary>
    public async ValueTask<Entry?> GetAsync(Guid sessionId, CancellationToken ct, bool fresh = false)
    {
        if (!fresh && cache.TryGetValue(sessionId, out var hit)) return hit;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        var row = await db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking()
            .Where(s => s.Id == sessionId)
            .Join(db.Gateways, s => s.GatewayId, g => g.Id, (s, g) => new Entry(s.CallbackSecretHash, s.TenantId, g.Kind, s.InstanceName))
            .FirstOrDefaultAsync(ct);
        if (row is not null) cache[sessionId] = row;
        return row;
    }

    public void Forget(Guid sessionId) => cache.TryRemove(sessionId, out _);
}
