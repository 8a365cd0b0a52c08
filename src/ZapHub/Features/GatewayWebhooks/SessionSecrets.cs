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
    public sealed record Entry(byte[] Hash, Guid TenantId, ZapHub.Gateways.GatewayKind Kind);
    private readonly ConcurrentDictionary<Guid, Entry> cache = new();

    public async ValueTask<Entry?> GetAsync(Guid sessionId, CancellationToken ct)
    {
        if (cache.TryGetValue(sessionId, out var hit)) return hit;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        var row = await db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking()
            .Where(s => s.Id == sessionId)
            .Join(db.Gateways, s => s.GatewayId, g => g.Id, (s, g) => new Entry(s.CallbackSecretHash, s.TenantId, g.Kind))
            .FirstOrDefaultAsync(ct);
        if (row is not null) cache[sessionId] = row;
        return row;
    }

    public void Forget(Guid sessionId) => cache.TryRemove(sessionId, out _);
}
