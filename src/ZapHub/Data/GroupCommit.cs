using System.Threading.Channels;

namespace ZapHub.Data;

/// <summary>
/// Steps from many callers committed by one writer in groups, so a commit (SQLite's single writer, PostgreSQL's flush)
/// is paid once per group; each caller waits for the commit that holds its step. When a group fails, its steps are
/// committed one by one, so one bad step fails alone.
/// </summary>
public sealed class GroupCommit<TStep, TResult>(int maxGroup, Func<IReadOnlyList<TStep>, CancellationToken, Task<TResult[]>> commit, ILogger? logger = null)
{
    private sealed record Item(TStep Step, TaskCompletionSource<TResult> Done);

    private readonly Channel<Item> queue = Channel.CreateUnbounded<Item>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Completes once the step is committed, with its result; throws what its commit threw.</summary>
    public Task<TResult> SubmitAsync(TStep step)
    {
        var item = new Item(step, new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!queue.Writer.TryWrite(item)) throw new InvalidOperationException("ZapHub is stopping.");
        return item.Done.Task;
    }

    /// <summary>The writer's loop, until stopped; <paramref name="committed"/> hears of each group's committed steps.</summary>
    public async Task RunAsync(Action<IEnumerable<TStep>>? committed, CancellationToken ct)
    {
        var group = new List<Item>(maxGroup);
        while (await queue.Reader.WaitToReadAsync(ct))
        {
            group.Clear();
            while (group.Count < maxGroup && queue.Reader.TryRead(out var item)) group.Add(item);
            try
            {
                var results = await commit([.. group.Select(i => i.Step)], ct);
                for (var i = 0; i < group.Count; i++) group[i].Done.TrySetResult(results[i]);
            }
            catch (Exception ex) when (group.Count > 1 && !ct.IsCancellationRequested)
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
}
