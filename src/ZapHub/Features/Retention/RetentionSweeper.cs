using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ZapHub.Data;
using ZapHub.Features.Events;
using ZapHub.Features.Messages;
using ZapHub.Platform;
using ZapHub.Platform.Telemetry;

namespace ZapHub.Features.Retention;

/// <summary>
/// Removes what is older than its window (<see cref="RetentionOptions"/>), table by table, a batch per short
/// transaction, each batch found through an index: rows with an increasing id are walked from the oldest until the
/// window starts, messages per tenant by creation time, audit by time. Runs on worker nodes; two nodes sweeping at
/// once only delete the same rows twice over.
/// </summary>
public sealed class RetentionSweeper(IServiceScopeFactory scopes, TimeProvider time, IOptions<RetentionOptions> options, IOptions<NodeOptions> node,
    WriteGate writeGate, ZapHubMetrics metrics, ILogger<RetentionSweeper> logger) : BackgroundService
{
    private static readonly MessageStatus[] Finished =
        [MessageStatus.Sent, MessageStatus.Delivered, MessageStatus.Read, MessageStatus.Failed, MessageStatus.Canceled, MessageStatus.Received];

    /// <summary>A breath between batches, so other writers (SQLite has one at a time) go first.</summary>
    private static readonly TimeSpan Breath = TimeSpan.FromMilliseconds(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!node.Value.RunsWorkers) return;
        using var timer = new PeriodicTimer(options.Value.Interval, time);
        try
        {
            do
            {
                try { await SweepAsync(stoppingToken); }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested) { logger.LogError(ex, "The retention sweep failed; it runs again at the next interval"); }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>One sweep of every table; returns the rows removed per table.</summary>
    public async Task<IReadOnlyDictionary<string, int>> SweepAsync(CancellationToken ct)
    {
        var o = options.Value;
        var now = time.UtcNow();
        var removed = new Dictionary<string, int>
        {
            ["messages"] = await MessagesAsync(now - o.Messages, ct),
            ["session_events"] = await WalkAsync((db, after, n) => db.SessionEvents.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(e => e.Id > after).OrderBy(e => e.Id).Take(n)
                .Select(e => new Row(e.Id, e.At, true)).ToListAsync(ct), (db, ids) => db.SessionEvents.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(e => ids.Contains(e.Id)).ExecuteDeleteAsync(ct), now - o.SessionEvents, ct),
            ["gateway_events"] = await WalkAsync((db, after, n) => db.GatewayEvents.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(e => e.Id > after).OrderBy(e => e.Id).Take(n)
                .Select(e => new Row(e.Id, e.ReceivedAt, e.ProcessedAt != null)).ToListAsync(ct), (db, ids) => db.GatewayEvents.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(e => ids.Contains(e.Id)).ExecuteDeleteAsync(ct), now - o.GatewayEvents, ct),
            ["deliveries"] = await WalkAsync((db, after, n) => db.WebhookDeliveries.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(d => d.Id > after).OrderBy(d => d.Id).Take(n)
                .Select(d => new Row(d.Id, d.CreatedAt, d.Status != DeliveryStatus.Pending)).ToListAsync(ct), (db, ids) => db.WebhookDeliveries.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(d => ids.Contains(d.Id)).ExecuteDeleteAsync(ct), now - o.Deliveries, ct),
            // An event the relay has not numbered yet stays; an event's deliveries and their attempts go with it.
            ["events"] = await WalkAsync((db, after, n) => db.Events.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(e => e.Id > after).OrderBy(e => e.Id).Take(n)
                .Select(e => new Row(e.Id, e.OccurredAt, e.Sequence != null)).ToListAsync(ct), (db, ids) => db.Events.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(e => ids.Contains(e.Id)).ExecuteDeleteAsync(ct), now - o.Events, ct),
            ["audit"] = await AuditAsync(now - o.Audit, ct),
        };
        foreach (var (table, count) in removed)
        {
            // Zero too: every table's series exists from the first sweep on.
            metrics.Pruned(table, count);
            if (count > 0) logger.LogInformation("Retention removed {Count} rows of {Table}", count, table);
        }
        return removed;
    }

    private sealed record Row(long Id, DateTime At, bool Removable);

    /// <summary>
    /// Rows whose id grows with their time: read from the oldest id in pages; the removable ones older than the window go,
    /// and the walk ends at the first row inside the window.
    /// </summary>
    private async Task<int> WalkAsync(Func<ZapHubDb, long, int, Task<List<Row>>> page, Func<ZapHubDb, List<long>, Task<int>> delete, DateTime before, CancellationToken ct)
    {
        var batch = options.Value.BatchSize;
        long after = 0;
        var total = 0;
        while (!ct.IsCancellationRequested)
        {
            await using var scope = WorkerScope(out var db);
            var rows = await page(db, after, batch);
            var old = rows.TakeWhile(r => r.At < before).ToList();
            var doomed = old.Where(r => r.Removable).Select(r => r.Id).ToList();
            if (doomed.Count > 0)
            {
                using (await writeGate.EnterAsync(db, ct))
                    total += await delete(db, doomed);
                await Task.Delay(Breath, ct);
            }
            if (old.Count < batch) break;
            after = old[^1].Id;
        }
        return total;
    }

    /// <summary>Finished and received messages, per tenant through its (tenant, created) index; their timelines go with them.</summary>
    private async Task<int> MessagesAsync(DateTime before, CancellationToken ct)
    {
        List<Guid> tenants;
        await using (var scope = WorkerScope(out var db))
            tenants = await db.Tenants.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Select(t => t.Id).ToListAsync(ct);
        var total = 0;
        foreach (var tenant in tenants)
            total += await OldestFirstAsync(
                (db, n) => db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(m => m.TenantId == tenant && m.CreatedAt < before && Finished.Contains(m.Status))
                    .OrderBy(m => m.CreatedAt).Select(m => m.Id).Take(n).ToListAsync(ct),
                (db, ids) => db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(m => ids.Contains(m.Id)).ExecuteDeleteAsync(ct), ct);
        return total;
    }

    /// <summary>Audit entries, through their time index.</summary>
    private Task<int> AuditAsync(DateTime before, CancellationToken ct) => OldestFirstAsync(
        (db, n) => db.AuditEntries.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(a => a.At < before).OrderBy(a => a.At).Select(a => a.Id).Take(n).ToListAsync(ct),
        (db, ids) => db.AuditEntries.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(a => ids.Contains(a.Id)).ExecuteDeleteAsync(ct), ct);

    /// <summary>Batches of the oldest rows past the window (<paramref name="next"/> finds them), until none is left.</summary>
    private async Task<int> OldestFirstAsync(Func<ZapHubDb, int, Task<List<Guid>>> next, Func<ZapHubDb, List<Guid>, Task<int>> delete, CancellationToken ct)
    {
        var batch = options.Value.BatchSize;
        int removed, total = 0;
        do
        {
            await using var scope = WorkerScope(out var db);
            var ids = await next(db, batch);
            if (ids.Count == 0) break;
            using (await writeGate.EnterAsync(db, ct))
                removed = await delete(db, ids);
            total += removed;
            await Task.Delay(Breath, ct);
        }
        while (removed == batch && !ct.IsCancellationRequested);
        return total;
    }

    private AsyncServiceScope WorkerScope(out ZapHubDb db)
    {
        var scope = scopes.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<TenantContext>().UseWorkerScope();
        db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        return scope;
    }
}
