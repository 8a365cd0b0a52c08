using System.Diagnostics;

namespace ZapHub.Data;

/// <summary>
/// For a worker woken by every commit of its input (gateway events, tenant events): under a steady stream it would
/// run one batch per handful of rows, each paying a dozen statements of fixed cost. Batches start at most once per
/// interval, so rows that arrive meanwhile share one; after a quiet spell the first wake-up runs at once.
/// The real clock on purpose: this spaces out work, it decides nothing a test would fake time for.
/// </summary>
public sealed class BatchPace(TimeSpan interval)
{
    // Zero: the machine's boot, long enough ago that the first wake-up runs at once.
    private long lastStart;

    public async Task WaitAsync(CancellationToken ct)
    {
        var since = Stopwatch.GetElapsedTime(lastStart);
        if (since < interval) await Task.Delay(interval - since, ct);
        lastStart = Stopwatch.GetTimestamp();
    }
}
