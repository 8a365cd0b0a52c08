using ZapHub.Features.Events;

namespace ZapHub.Components;

/// <summary>
/// Keeps an open page's messages current: a message is sent, delivered, read or answered after the page was read, and
/// each of those is an event the relay publishes (on every node). The page reads again after a relay, at most once per
/// <see cref="Gap"/>; the signal is not per tenant, so reading again is what tells whether anything on the page changed.
/// Created before the page's first read, so nothing relayed in between is missed.
/// </summary>
public sealed class EventFollower : IDisposable
{
    private static readonly TimeSpan Gap = TimeSpan.FromMilliseconds(500);
    private readonly CancellationTokenSource closed = new();

    public EventFollower(EventRelay relay, Func<Task> reload) => _ = FollowAsync(relay, reload);

    private async Task FollowAsync(EventRelay relay, Func<Task> reload)
    {
        var next = relay.Relayed.Next;
        try
        {
            while (true)
            {
                await next.WaitAsync(closed.Token);
                await Task.Delay(Gap, closed.Token);
                next = relay.Relayed.Next;
                await reload();
            }
        }
        catch (OperationCanceledException) { }
        catch (ObjectDisposedException) { } // the circuit closed while a read was on its way
    }

    // The token source is only cancelled, never disposed: the loop may still be reading its token.
    public void Dispose() => closed.Cancel();
}
