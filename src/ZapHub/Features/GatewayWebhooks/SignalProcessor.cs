using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using ZapHub.Data;
using ZapHub.Features.Gateways;
using ZapHub.Features.Sessions;
using ZapHub.Gateways;
using ZapHub.Platform;
using ZapHub.Platform.Cluster;

namespace ZapHub.Features.GatewayWebhooks;

/// <summary>
/// Applies stored gateway events, oldest first, so each number sees its events in the order they arrived: each event is
/// parsed by its provider and its signals handed to the features' handlers (<see cref="IGatewaySignalHandler"/>). One
/// bad event is marked with its error and skipped; it never stops the loop. Events are partitioned by number
/// (<see cref="WorkPartitions"/>): each node applies the partitions it holds, so a cluster shares the work and a number's
/// events stay in order on one node at a time.
/// </summary>
public sealed class SignalProcessor(IServiceScopeFactory scopes, TimeProvider time, ILogger<SignalProcessor> logger,
    Microsoft.Extensions.Options.IOptions<NodeOptions> node, WriteGate writeGate, GatewayClients clients, PartitionLeases leases)
    : BackgroundService
{
    private const int BatchSize = 500;
    private readonly SemaphoreSlim wake = new(0);
    private readonly BatchPace pace = new(TimeSpan.FromMilliseconds(20));

    public void Wake()
    {
        if (wake.CurrentCount == 0) wake.Release();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!node.Value.RunsWorkers) return;
        leases.Taken += Wake;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await ProcessAsync(stoppingToken)) { }
            }
            catch (DbUpdateConcurrencyException)
            {
                // Someone else changed one of the sessions meanwhile: nothing was saved; read again and redo the batch.
                continue;
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError(ex, "Processing gateway events failed; retrying shortly");
            }
            try
            {
                await wake.WaitAsync(TimeSpan.FromSeconds(1), stoppingToken);
                await pace.WaitAsync(stoppingToken);
            }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>A batch from each partition this node holds; true when one of them was full (more is waiting).</summary>
    public async Task<bool> ProcessAsync(CancellationToken ct)
    {
        var held = leases.Held(WorkPartitions.Signals);
        if (held.Count == 0) return false;
        List<short> waiting;
        await using (var scope = scopes.CreateAsyncScope())
            waiting = await scope.ServiceProvider.GetRequiredService<ZapHubDb>().GatewayEvents.IgnoreQueryFilters([ZapHubDb.TenantFilter])
                .Where(e => e.ProcessedAt == null).Select(e => e.Partition).Distinct().ToListAsync(ct);
        // With nothing waiting, one empty batch still runs: the handlers' own work (receipts that raced their send) rides on it.
        var due = held.Intersect(waiting).DefaultIfEmpty(held[0]);
        var more = false;
        foreach (var partition in due)
            more |= await ProcessBatchAsync(partition, ct) == BatchSize;
        return more;
    }

    private async Task<int> ProcessBatchAsync(short partition, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<TenantContext>().UseWorkerScope();
        var db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        // PostgreSQL: one transaction that confirms this node's lease on the partition (held until it commits). SQLite: reads
        // outside any transaction, on purpose (a transaction that reads and then writes fails at once, not after a wait,
        // when another writer committed in between); its writes get one transaction of their own below.
        await using var transaction = db is PostgresZapHubDb ? await db.Database.BeginTransactionAsync(ct) : null;
        if (transaction is not null && !await leases.ConfirmAsync(db, WorkPartitions.Signals, partition, ct)) return 0;

        var now = time.UtcNow();
        // Untracked, and marked processed with one statement: a batch of events is read once and never rewritten row by row.
        var events = await db.GatewayEvents.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking()
            .Where(e => e.Partition == partition && e.ProcessedAt == null).OrderBy(e => e.Id).Take(BatchSize).ToListAsync(ct);
        var sessionIds = events.Select(e => e.SessionId).Distinct().ToList();
        var sessions = sessionIds.Count == 0 ? [] : await db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(s => sessionIds.Contains(s.Id)).ToDictionaryAsync(s => s.Id, ct);
        var gatewayIds = sessions.Values.Select(s => s.GatewayId).Distinct().ToList();
        var gateways = gatewayIds.Count == 0 ? [] : await db.Gateways.Where(g => gatewayIds.Contains(g.Id)).ToDictionaryAsync(g => g.Id, ct);
        var errors = new Dictionary<long, string>();
        void Fail(GatewayEvent e, Exception ex) => errors[e.Id] = ex.Message.Length > 500 ? ex.Message[..500] : ex.Message;

        // Parse everything first, so the handlers can load what the whole batch touches in a few queries.
        var parsed = new List<(GatewayEvent Event, Session? Session, IReadOnlyList<GatewaySignal> Signals)>(events.Count);
        foreach (var e in events)
        {
            if (!sessions.TryGetValue(e.SessionId, out var session))
            {
                parsed.Add((e, null, []));
                continue;
            }
            try
            {
                using var json = JsonDocument.Parse(e.Body);
                var provider = clients.ProviderOf(gateways[session.GatewayId]);
                // A callback URL outlives a name ZapHub gave up (a gateway restart relaunches it and it posts here): only
                // events about the number's own instance are applied; the others are kept with the reason, for the operator.
                if (provider.InstanceNameOf(json.RootElement) is { } named && named != session.InstanceName)
                {
                    errors[e.Id] = $"ignored: the event is about instance '{(named.Length > 60 ? named[..60] : named)}', not this number's '{session.InstanceName}'";
                    parsed.Add((e, null, []));
                    continue;
                }
                parsed.Add((e, session, provider.ParseWebhook(json.RootElement)));
            }
            catch (Exception ex)
            {
                Fail(e, ex);
                parsed.Add((e, null, []));
                logger.LogWarning(ex, "Gateway event {EventId} of number {SessionId} (tenant {TenantId}) could not be read", e.Id, e.SessionId, e.TenantId);
            }
        }

        var batch = new SignalBatch(db, now)
        {
            Sessions = sessions,
            Gateways = gateways,
            Signals = parsed.Where(p => p.Session is not null).SelectMany(p => p.Signals.Select(s => (p.Session!, s))).ToList(),
        };
        var handlers = scope.ServiceProvider.GetServices<IGatewaySignalHandler>().ToList();
        foreach (var handler in handlers) await handler.PrepareAsync(batch, ct);
        foreach (var (e, session, signals) in parsed)
        {
            if (session is null) continue;
            try
            {
                foreach (var signal in signals)
                    foreach (var handler in handlers)
                        await handler.ApplyAsync(batch, session, e, signal, ct);
            }
            catch (Exception ex) when (ex is not DbUpdateConcurrencyException)
            {
                Fail(e, ex);
                logger.LogWarning(ex, "Gateway event {EventId} of number {SessionId} (tenant {TenantId}) could not be applied", e.Id, e.SessionId, e.TenantId);
            }
        }
        if (events.Count == 0 && !db.ChangeTracker.HasChanges() && !batch.MustSave) return 0;

        using (await writeGate.EnterAsync(db, ct))
        {
            await using var writes = transaction is null ? await db.Database.BeginTransactionAsync(ct) : null;
            await db.SaveChangesAsync(ct);
            foreach (var handler in handlers) await handler.SaveAsync(batch, ct);
            var done = events.Select(e => e.Id).Where(id => !errors.ContainsKey(id)).ToList();
            var inbox = db.GatewayEvents.IgnoreQueryFilters([ZapHubDb.TenantFilter]);
            if (done.Count > 0) await inbox.Where(e => done.Contains(e.Id)).ExecuteUpdateAsync(u => u.SetProperty(e => e.ProcessedAt, now), ct);
            // One statement per distinct reason: a stream of events about a given-up name all share theirs.
            foreach (var same in errors.GroupBy(x => x.Value, x => x.Key))
            {
                var ids = same.ToList();
                await inbox.Where(e => ids.Contains(e.Id)).ExecuteUpdateAsync(u => u.SetProperty(e => e.ProcessedAt, now).SetProperty(e => e.Error, same.Key), ct);
            }
            await (transaction ?? writes)!.CommitAsync(ct);
        }
        foreach (var handler in handlers) await handler.AfterCommitAsync(batch, ct);
        return events.Count;
    }
}
