using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using ZapHub.Data;
using ZapHub.Features.Sessions;

namespace ZapHub.Features.Messages;

/// <summary>The result of trying to start a send.</summary>
public enum BeginResult { Started, SlotBusy, LimitReached, Gone }

/// <summary>How a send call ended.</summary>
public sealed record SendOutcome(string? ProviderMessageId, string? Category, string? Reason, bool Retry, DateTime? RetryAt = null, DateTime? PauseUntil = null)
{
    public bool Sent => ProviderMessageId is not null;
    public static SendOutcome Delivered(string id) => new(id, null, null, false);
}

/// <summary>
/// The dispatcher's durable steps, committed by one writer in groups: "this send starts now" (the message becomes
/// Sending and the number's slot and daily count are taken, atomically, before the gateway is called) and "this
/// send ended". Many lanes' steps share one transaction, so SQLite's single writer and PostgreSQL's commit flushes
/// are paid once per group, not once per message; each caller still waits for the commit that holds its step.
/// </summary>
public sealed class DispatchLedger(IServiceScopeFactory scopes, NodeIdentity node, SignalProcessor receipts, WriteGate writeGate, ILogger<DispatchLedger> logger) : BackgroundService
{
    private const int MaxBatch = 256;
    private static readonly MessageStatus[] Waiting = [MessageStatus.Queued, MessageStatus.Scheduled, MessageStatus.Held];
    private static readonly MessageStatus[] InFlight = [MessageStatus.Sending, MessageStatus.InDoubt];

    public sealed record Begin(Guid MessageId, MessageStatus Was, Guid SessionId, DateTime Now, string Today, int? DailyLimit, DateTime SlotLockUntil, DateTime LeaseUntil);

    public sealed record End(Guid MessageId, Guid TenantId, Guid SessionId, int Attempt, string Today, DateTime At, SendOutcome Outcome, DateTime NextSendAt, string Detail);

    private sealed record Item(object Step, TaskCompletionSource<(BeginResult, DateTime?)> Done);

    private readonly Channel<Item> queue = Channel.CreateUnbounded<Item>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Started, or why not: the slot is taken until the returned time, the daily limit is reached, or the message is no longer ours.</summary>
    public async Task<(BeginResult Result, DateTime? BusyUntil)> BeginAsync(Begin step)
    {
        var item = new Item(step, new TaskCompletionSource<(BeginResult, DateTime?)>(TaskCreationOptions.RunContinuationsAsynchronously));
        queue.Writer.TryWrite(item);
        return await item.Done.Task;
    }

    public async Task EndAsync(End step)
    {
        var item = new Item(step, new TaskCompletionSource<(BeginResult, DateTime?)>(TaskCreationOptions.RunContinuationsAsynchronously));
        queue.Writer.TryWrite(item);
        await item.Done.Task;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Item>(MaxBatch);
        while (await queue.Reader.WaitToReadAsync(stoppingToken))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && queue.Reader.TryRead(out var item)) batch.Add(item);
            // Numbers' rows locked in one order by every group, on every node: two groups can wait on each other but never deadlock.
            batch.Sort((x, y) => SessionOf(x).CompareTo(SessionOf(y)));
            try
            {
                var results = await CommitAsync(batch, stoppingToken);
                for (var i = 0; i < batch.Count; i++) batch[i].Done.TrySetResult(results[i]);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested && batch.Count > 1)
            {
                logger.LogWarning(ex, "A group of {Count} dispatch steps failed; committing them one by one", batch.Count);
                foreach (var item in batch)
                {
                    try { item.Done.TrySetResult((await CommitAsync([item], stoppingToken))[0]); }
                    catch (Exception one) { item.Done.TrySetException(one); }
                }
            }
            catch (Exception ex)
            {
                foreach (var item in batch) item.Done.TrySetException(ex);
            }
            if (batch.Any(i => i.Step is End { Outcome.Sent: true })) receipts.SendsRecorded();
        }
    }

    private static Guid SessionOf(Item item) => item.Step switch { Begin b => b.SessionId, End e => e.SessionId, _ => Guid.Empty };

    private async Task<(BeginResult, DateTime?)[]> CommitAsync(List<Item> batch, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<TenantContext>().UsePlatformScope();
        var db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        using var turn = await writeGate.EnterAsync(db, ct);
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var results = new (BeginResult, DateTime?)[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            results[i] = batch[i].Step switch
            {
                Begin begin => await BeginOneAsync(db, begin, ct),
                End end => await EndOneAsync(db, end, ct),
                _ => throw new InvalidOperationException(),
            };
        }
        // Loaded after the updates, so the events the timeline rows become carry each message's current state.
        var ended = batch.Select(i => i.Step).OfType<End>().Select(e => e.MessageId).ToList();
        if (ended.Count > 0) await db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(m => ended.Contains(m.Id)).LoadAsync(ct);
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return results;
    }

    private async Task<(BeginResult, DateTime?)> BeginOneAsync(ZapHubDb db, Begin b, CancellationToken ct)
    {
        var owner = node.Id;
        var messages = db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter]);
        var sessions = db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]);
        var taken = await messages.Where(m => m.Id == b.MessageId && m.LeaseOwner == owner && Waiting.Contains(m.Status))
            .ExecuteUpdateAsync(u => u
                .SetProperty(m => m.Status, MessageStatus.Sending)
                .SetProperty(m => m.Attempts, m => m.Attempts + 1)
                .SetProperty(m => m.LeaseUntil, b.LeaseUntil)
                .SetProperty(m => m.StatusReason, (string?)null)
                .SetProperty(m => m.UpdatedAt, b.Now)
                .SetProperty(m => m.Version, m => m.Version + 1), ct);
        if (taken == 0) return (BeginResult.Gone, null);

        // The slot and the daily count in one conditional update: two nodes can never both take the same slot.
        var limit = b.DailyLimit;
        var slot = await sessions
            .Where(s => s.Id == b.SessionId && (s.NextSendAt == null || s.NextSendAt <= b.Now)
                     && (limit == null || s.SentTodayDate != b.Today || s.SentToday < limit))
            .ExecuteUpdateAsync(u => u
                .SetProperty(s => s.NextSendAt, b.SlotLockUntil)
                .SetProperty(s => s.SentToday, s => s.SentTodayDate == b.Today ? s.SentToday + 1 : 1)
                .SetProperty(s => s.SentTodayDate, b.Today), ct);
        if (slot == 1) return (BeginResult.Started, null);

        await messages.Where(m => m.Id == b.MessageId)
            .ExecuteUpdateAsync(u => u
                .SetProperty(m => m.Status, b.Was)
                .SetProperty(m => m.Attempts, m => m.Attempts - 1)
                .SetProperty(m => m.Version, m => m.Version + 1), ct);
        var state = await sessions.AsNoTracking().Where(s => s.Id == b.SessionId).Select(s => new { s.NextSendAt }).FirstOrDefaultAsync(ct);
        if (state is null) return (BeginResult.Gone, null);
        return state.NextSendAt is { } next && next > b.Now ? (BeginResult.SlotBusy, next) : (BeginResult.LimitReached, null);
    }

    private async Task<(BeginResult, DateTime?)> EndOneAsync(ZapHubDb db, End e, CancellationToken ct)
    {
        var owner = node.Id;
        var o = e.Outcome;
        var mine = db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter])
            .Where(m => m.Id == e.MessageId && m.LeaseOwner == owner && InFlight.Contains(m.Status));
        MessageStatus status;
        if (o.Sent)
        {
            status = MessageStatus.Sent;
            await mine.ExecuteUpdateAsync(u => u
                .SetProperty(m => m.Status, MessageStatus.Sent)
                .SetProperty(m => m.ProviderMessageId, o.ProviderMessageId)
                .SetProperty(m => m.SentAt, e.At)
                .SetProperty(m => m.StatusReason, (string?)null)
                .SetProperty(m => m.FailureCategory, (string?)null)
                .SetProperty(m => m.HeldSince, (DateTime?)null)
                .SetProperty(m => m.LeaseOwner, (string?)null)
                .SetProperty(m => m.LeaseUntil, (DateTime?)null)
                .SetProperty(m => m.UpdatedAt, e.At)
                .SetProperty(m => m.Version, m => m.Version + 1), ct);
        }
        else
        {
            status = o.Retry ? MessageStatus.Queued : MessageStatus.Failed;
            await mine.ExecuteUpdateAsync(u => u
                .SetProperty(m => m.Status, status)
                .SetProperty(m => m.DueAt, m => o.RetryAt ?? m.DueAt)
                .SetProperty(m => m.FailedAt, m => o.Retry ? m.FailedAt : e.At)
                .SetProperty(m => m.StatusReason, o.Reason)
                .SetProperty(m => m.FailureCategory, o.Category)
                .SetProperty(m => m.LeaseOwner, (string?)null)
                .SetProperty(m => m.LeaseUntil, (DateTime?)null)
                .SetProperty(m => m.UpdatedAt, e.At)
                .SetProperty(m => m.Version, m => m.Version + 1), ct);
        }

        // Free the slot after the gap; a send that did not happen does not count against the day.
        var sent = o.Sent;
        var pauseUntil = o.PauseUntil;
        var pauseReason = o.PauseUntil is null ? null : o.Category;
        await db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(s => s.Id == e.SessionId)
            .ExecuteUpdateAsync(u => u
                .SetProperty(s => s.NextSendAt, e.NextSendAt)
                .SetProperty(s => s.SentToday, s => !sent && s.SentTodayDate == e.Today && s.SentToday > 0 ? s.SentToday - 1 : s.SentToday)
                .SetProperty(s => s.PausedUntil, s => pauseUntil ?? s.PausedUntil)
                .SetProperty(s => s.PauseReason, s => pauseReason ?? s.PauseReason), ct);

        db.MessageEvents.Add(new MessageEvent { TenantId = e.TenantId, MessageId = e.MessageId, At = e.At, Status = status, Attempt = e.Attempt, Detail = e.Detail, Node = owner });
        return (BeginResult.Started, null);
    }
}

/// <summary>This process among the nodes sharing the database: leases carry it, so a lease names its holder.</summary>
public sealed class NodeIdentity
{
    public string Id { get; } = $"{Environment.MachineName[..Math.Min(20, Environment.MachineName.Length)]}/{Environment.ProcessId}/{Guid.NewGuid():N}";
}
