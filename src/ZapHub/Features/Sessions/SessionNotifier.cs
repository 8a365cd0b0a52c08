using System.Threading.Channels;

namespace ZapHub.Features.Sessions;

/// <summary>
/// Tells live dashboards that a session changed, so they re-read it instead of polling. Subscribers name their
/// tenant and only ever hear about that tenant's sessions. In-process for now: with several nodes on PostgreSQL
/// this fans out through LISTEN/NOTIFY (docs/adr/0006-live-updates.md).
/// </summary>
public sealed class SessionNotifier
{
    private readonly Lock sync = new();
    private readonly Dictionary<Guid, List<Func<Guid, Task>>> subscribers = [];
    private Channel<(Guid Tenant, Guid Session)>? outgoing;

    /// <summary>Identifies this node in cross-node notifications, so it ignores its own echo.</summary>
    public Guid NodeId { get; } = Guid.NewGuid();

    /// <summary>This node hears other nodes' changes and tells them its own (PostgreSQL, from its first LISTEN on).</summary>
    public bool FansOut => outgoing is not null;

    /// <summary>Called by the cross-node fan-out when it starts: from then on every publish is also handed to it.</summary>
    public ChannelReader<(Guid Tenant, Guid Session)> EnableFanOut()
    {
        outgoing = Channel.CreateBounded<(Guid, Guid)>(new BoundedChannelOptions(10_000) { SingleReader = true, FullMode = BoundedChannelFullMode.DropOldest });
        return outgoing.Reader;
    }

    public IDisposable Subscribe(Guid tenantId, Func<Guid, Task> onChanged)
    {
        lock (sync)
        {
            if (!subscribers.TryGetValue(tenantId, out var list)) subscribers[tenantId] = list = [];
            list.Add(onChanged);
        }
        return new Subscription(() =>
        {
            lock (sync)
                if (subscribers.TryGetValue(tenantId, out var list) && list.Remove(onChanged) && list.Count == 0)
                    subscribers.Remove(tenantId);
        });
    }

    public void Publish(Guid tenantId, Guid sessionId)
    {
        DispatchLocal(tenantId, sessionId);
        outgoing?.Writer.TryWrite((tenantId, sessionId));
    }

    /// <summary>Delivers to this node's subscribers only (used for notifications that came from other nodes).</summary>
    public void DispatchLocal(Guid tenantId, Guid sessionId)
    {
        Func<Guid, Task>[] targets;
        lock (sync)
        {
            if (!subscribers.TryGetValue(tenantId, out var list)) return;
            targets = [.. list];
        }
        // Fire and forget: a slow or broken browser must never hold up the webhook processor.
        foreach (var target in targets) _ = SafeAsync(target, sessionId);
    }

    private static async Task SafeAsync(Func<Guid, Task> target, Guid sessionId)
    {
        try { await target(sessionId); }
        catch (Exception) { /* the circuit went away; its subscription is disposed with the page */ }
    }

    private sealed class Subscription(Action dispose) : IDisposable
    {
        public void Dispose() => dispose();
    }
}
