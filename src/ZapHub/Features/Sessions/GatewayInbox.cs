using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using ZapHub.Data;

namespace ZapHub.Features.Sessions;

/// <summary>
/// Stores gateway webhooks durably before they are acknowledged. One writer commits them in groups, so a burst of
/// thousands of events costs a few transactions (SQLite has a single writer; per-request commits top out near
/// 1k/s). A caller's answer waits for the commit that holds its event.
/// </summary>
public sealed class GatewayInbox(IServiceScopeFactory scopes, SignalProcessor processor, ILogger<GatewayInbox> logger) : BackgroundService
{
    private const int MaxBatch = 1000;
    private sealed record Item(GatewayEvent Event, TaskCompletionSource<bool> Stored);
    private readonly Channel<Item> queue = Channel.CreateBounded<Item>(new BoundedChannelOptions(20_000) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    /// <summary>True when stored, false when it was a duplicate of an event already stored.</summary>
    public async Task<bool> StoreAsync(GatewayEvent e, CancellationToken ct)
    {
        var item = new Item(e, new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
        await queue.Writer.WriteAsync(item, ct);
        return await item.Stored.Task.WaitAsync(ct);
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
                await WriteAsync(batch, stoppingToken);
                processor.Wake();
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // The gateway gets an error and keeps its event for a retry (Evolution retries; WPPConnect does not).
                logger.LogError(ex, "Could not store {Count} gateway events", batch.Count);
                foreach (var item in batch) item.Stored.TrySetException(ex);
            }
        }
    }

    private async Task WriteAsync(List<Item> batch, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<TenantContext>().UsePlatformScope();
        var db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        var keys = batch.Select(i => i.Event.DedupeKey).Distinct().ToList();
        var existing = (await db.GatewayEvents.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking()
                .Where(e => keys.Contains(e.DedupeKey)).Select(e => new { e.SessionId, e.DedupeKey }).ToListAsync(ct))
            .Select(x => (x.SessionId, x.DedupeKey)).ToHashSet();
        var fresh = new List<Item>();
        foreach (var item in batch)
        {
            if (existing.Add((item.Event.SessionId, item.Event.DedupeKey))) fresh.Add(item);
            else item.Stored.TrySetResult(false);
        }
        db.GatewayEvents.AddRange(fresh.Select(i => i.Event));
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException) when (fresh.Count > 0)
        {
            // A session deleted meanwhile (foreign key) or a duplicate stored by another node: one by one.
            foreach (var item in fresh) await WriteOneAsync(item, ct);
            return;
        }
        foreach (var item in fresh) item.Stored.TrySetResult(true);
    }

    private async Task WriteOneAsync(Item item, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<TenantContext>().UsePlatformScope();
        var db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        item.Event.Id = 0;
        db.GatewayEvents.Add(item.Event);
        try
        {
            await db.SaveChangesAsync(ct);
            item.Stored.TrySetResult(true);
        }
        catch (DbUpdateException)
        {
            item.Stored.TrySetResult(false);
        }
    }
}
