using System.Threading.Channels;
using ZapHub.Data;

namespace ZapHub.Features.Messages;

/// <summary>
/// Accepted messages are committed in groups by one writer: a burst of API requests costs a few transactions instead
/// of one each (on SQLite every write transaction queues for the single writer lock, behind the dispatcher's and the
/// receipt processor's). A request still answers only after the commit that holds its message.
/// </summary>
public sealed class MessageIntake(IServiceScopeFactory scopes, WriteGate writeGate) : BackgroundService
{
    private const int MaxBatch = 500;

    private sealed record Item(Message Message, MessageEvent Accepted, TaskCompletionSource Stored);

    private readonly Channel<Item> queue = Channel.CreateUnbounded<Item>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Returns once the message and its "accepted" timeline row are committed; throws what the commit threw.</summary>
    public async Task StoreAsync(Message message, MessageEvent accepted)
    {
        var item = new Item(message, accepted, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!queue.Writer.TryWrite(item)) throw new InvalidOperationException("ZapHub is stopping.");
        await item.Stored.Task;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Item>(MaxBatch);
        while (await queue.Reader.WaitToReadAsync(stoppingToken))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && queue.Reader.TryRead(out var item)) batch.Add(item);
            try
            {
                await CommitAsync(batch, stoppingToken);
                foreach (var item in batch) item.Stored.TrySetResult();
            }
            catch (Exception) when (batch.Count > 1 && !stoppingToken.IsCancellationRequested)
            {
                // One bad row (an Idempotency-Key another request committed first) must not fail the rest of the group.
                foreach (var item in batch)
                {
                    try
                    {
                        await CommitAsync([item], stoppingToken);
                        item.Stored.TrySetResult();
                    }
                    catch (Exception one)
                    {
                        item.Stored.TrySetException(one);
                    }
                }
            }
            catch (Exception ex)
            {
                foreach (var item in batch) item.Stored.TrySetException(ex);
            }
        }
    }

    private async Task CommitAsync(IReadOnlyList<Item> batch, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        // Every message's tenant was set and checked by the request that accepted it.
        scope.ServiceProvider.GetRequiredService<TenantContext>().UsePlatformScope();
        var db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        foreach (var item in batch)
        {
            db.Messages.Add(item.Message);
            db.MessageEvents.Add(item.Accepted);
        }
        using var turn = await writeGate.EnterAsync(db, ct);
        await db.SaveChangesAsync(ct);
    }
}
