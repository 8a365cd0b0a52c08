using System.Collections.Concurrent;

namespace ZapHub.Features.Messages;

/// <summary>
/// Receipts kept for a message not known yet are looked up for the sends this node just recorded, and all of them every
/// few seconds (another node may have recorded their sends) — never re-read per batch: during a burst of receipts for
/// messages typed on the phone, that table grows and re-reading it would cost more than the batch. Stale ones are dropped
/// on the same few-seconds beat.
/// </summary>
public sealed class PendingReceiptChecks
{
    private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(5);
    private readonly ConcurrentQueue<RecordedSend> recorded = new();
    private DateTime sweptAt;

    public void Recorded(IEnumerable<RecordedSend> sends)
    {
        foreach (var send in sends) recorded.Enqueue(send);
    }

    /// <summary>The sends to check now, or null for a sweep of every pending receipt (<paramref name="sweep"/> true).</summary>
    public IReadOnlyList<RecordedSend>? Take(DateTime now, out bool sweep)
    {
        var fresh = new List<RecordedSend>();
        while (recorded.TryDequeue(out var send)) fresh.Add(send);
        sweep = now - sweptAt >= SweepInterval;
        if (sweep) sweptAt = now;
        return sweep ? null : fresh;
    }
}
