using ZapHub.Features.Events;

namespace ZapHub.Components;

/// <summary>
/// Keeps an open page's messages current: a message is sent, delivered, read or answered after the page was read, and
/// each of those is an event the relay publishes for its tenant (on every node). The page reads again when its tenant's
/// events were relayed, at most once per <see cref="Gap"/>. Created before the page's first read, so nothing relayed in
/// between is missed.
/// </summary>
public sealed class EventFollower : IDisposable
{
    private static readonly TimeSpan Gap = TimeSpan.FromMilliseconds(500);
    private readonly EventRelay relay;
    private readonly Func<Guid?> tenant;
    private readonly SemaphoreSlim changed = new(0);
    private readonly CancellationTokenSource closed = new();

    /// <param name="tenant">The page's tenant, read when events arrive (the page learns it during its first load).</param>
    public EventFollower(EventRelay relay, Func<Guid?> tenant, Func<Task> reload)
    {
        (this.relay, this.tenant) = (relay, tenant);
        relay.RelayedFor += OnRelayed;
        _ = FollowAsync(reload);
    }

    private void OnRelayed(IReadOnlyCollection<Guid>? tenants)
    {
        if ((tenants is null || (tenant() is { } mine && tenants.Contains(mine))) && changed.CurrentCount == 0) changed.Release();
    }

    private async Task FollowAsync(Func<Task> reload)
    {
        try
        {
            while (true)
            {
                await changed.WaitAsync(closed.Token);
                await Task.Delay(Gap, closed.Token);
                await reload();
            }
        }
        catch (OperationCanceledException) { }
        catch (ObjectDisposedException) { } // the circuit closed while a read was on its way
    }

    // The token source is only cancelled, never disposed: the loop may still be reading its token.
    public void Dispose()
    {
        relay.RelayedFor -= OnRelayed;
        closed.Cancel();
    }
}
