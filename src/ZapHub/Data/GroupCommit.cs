using System.Threading.Channels;

namespace ZapHub.Data;

/// <summary>
/// Steps from many callers committed by one writer in groups, so a commit (SQLite's single writer, PostgreSQL's flush)
/// is paid once per group; each caller waits for the commit that holds its step. When a group fails in a way one of
/// its steps may have caused (<paramref name="splitWhen"/>; by default any failure), its steps are committed one by
/// one, so one bad step fails alone; otherwise (the database is away) every step gets the failure.
/// </summary>
/// <param name="capacity">Steps that may wait; further callers wait for room (back-pressure). Unbounded when null.</param>
/// <param name="synchronousCompletions">
/// Completing a step runs its caller's continuation on the writer. Only for callers whose continuation is tiny and never
/// blocks (writing a small response): it saves a thread-pool hop per step.
/// </param>
public sealed class GroupCommit<TStep, TResult>(
    int maxGroup, Func<IReadOnlyList<TStep>, CancellationToken, Task<TResult[]>> commit, ILogger? logger = null,
    int? capacity = null, bool synchronousCompletions = false, Func<Exception, bool>? splitWhen = null)
{
    private sealed record Item(TStep Step, TaskCompletionSource<TResult> Done);

    private readonly Channel<Item> queue = capacity is { } size
        ? Channel.CreateBounded<Item>(new BoundedChannelOptions(size) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait })
        : Channel.CreateUnbounded<Item>(new UnboundedChannelOptions { SingleReader = true });

    private readonly TaskCreationOptions completions = synchronousCompletions ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously;

    /// <summary>Completes once the step is committed, with its result; throws what its commit threw.</summary>
    public Task<TResult> SubmitAsync(TStep step, CancellationToken ct = default)
    {
        var item = new Item(step, new TaskCompletionSource<TResult>(completions));
        return queue.Writer.TryWrite(item) ? item.Done.Task : WaitForRoomAsync(item, ct);
    }

    private async Task<TResult> WaitForRoomAsync(Item item, CancellationToken ct)
    {
        try { await queue.Writer.WriteAsync(item, ct); }
        catch (ChannelClosedException) { throw new InvalidOperationException("ZapHub is stopping."); }
        return await item.Done.Task;
    }

    /// <summary>The writer's loop, until stopped; <paramref name="committed"/> hears of each group's committed steps.</summary>
    public async Task RunAsync(Action<IEnumerable<TStep>>? committed, CancellationToken ct)
    {
        var group = new List<Item>(maxGroup);
        try
        {
            while (await queue.Reader.WaitToReadAsync(ct))
            {
                // No waiting for a group to fill: steps that arrive during a commit make the next group anyway, and a wait
                // would hold every caller of a small group idle.
                group.Clear();
                while (group.Count < maxGroup && queue.Reader.TryRead(out var item)) group.Add(item);
                try
                {
                    var results = await commit([.. group.Select(i => i.Step)], ct);
                    for (var i = 0; i < group.Count; i++) group[i].Done.TrySetResult(results[i]);
                }
                catch (Exception ex) when (group.Count > 1 && (splitWhen?.Invoke(ex) ?? true) && !ct.IsCancellationRequested)
                {
                    logger?.LogWarning(ex, "A group of {Count} steps failed; committing them one by one", group.Count);
                    foreach (var item in group)
                    {
                        try { item.Done.TrySetResult((await commit([item.Step], ct))[0]); }
                        catch (Exception one) { item.Done.TrySetException(one); }
                    }
                }
                catch (Exception ex)
                {
                    foreach (var item in group) item.Done.TrySetException(ex);
                }
                committed?.Invoke(group.Where(i => i.Done.Task.IsCompletedSuccessfully).Select(i => i.Step));
            }
        }
        finally
        {
            // Nothing is left waiting for a writer that stopped.
            queue.Writer.TryComplete();
            while (queue.Reader.TryRead(out var left)) left.Done.TrySetCanceled(CancellationToken.None);
        }
    }
}
