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
