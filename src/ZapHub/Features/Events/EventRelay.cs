using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ZapHub.Data;
using ZapHub.Platform;
using ZapHub.Platform.Cluster;

namespace ZapHub.Features.Events;

/// <summary>
/// Moves committed events on: gives each its place in the commit order (the stream's sequence), and owes it to
/// every enabled endpoint of its tenant that wants its type (a delivery row, in the same transaction). Events are
/// partitioned by tenant (<see cref="WorkPartitions"/>) and one node at a time numbers a partition (its lease, confirmed
/// in the batch's transaction), which is what makes the sequence a commit order for each tenant's readers: an event
/// still uncommitted when a batch runs gets a higher number than everything in it. Nodes share the partitions.
/// </summary>
public sealed class EventRelay(IServiceScopeFactory scopes, TimeProvider time, IOptions<NodeOptions> node, WriteGate writeGate, ILogger<EventRelay> logger,
    PartitionLeases leases)
    : BackgroundService
{
    public const string NotifyChannel = "zaphub_events";
    private const int BatchSize = 500;
    private readonly SemaphoreSlim wake = new(0);
    private readonly BatchPace pace = new(TimeSpan.FromMilliseconds(20));

    /// <summary>Pulsed when events were sequenced (here, or on another node): streams and the sender read again.</summary>
    public EventSignal Relayed { get; } = new();

    /// <summary>Raised with the tenants whose events were sequenced (null: any tenant), for open pages to read again.</summary>
    public event Action<IReadOnlyCollection<Guid>?>? RelayedFor;

    /// <summary>A NOTIFY names at most this many tenants (the payload's limit is 8,000 bytes); a bigger batch names none, meaning any.</summary>
    private const int TenantsNamed = 100;

    /// <summary>Another node relayed events: its NOTIFY payload names their tenants.</summary>
    public void Heard(string payload)
    {
        Relayed.Pulse();
        RelayedFor?.Invoke(TenantsOf(payload));
    }

    public static IReadOnlyCollection<Guid>? TenantsOf(string payload)
    {
        var tenants = new HashSet<Guid>();
        foreach (var part in payload.Split(',', StringSplitOptions.RemoveEmptyEntries))
            if (Guid.TryParse(part, out var id)) tenants.Add(id);
            else return null;
        return tenants.Count == 0 ? null : tenants;
    }

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
                while (await RelayAsync(stoppingToken)) { }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError(ex, "Relaying events failed; retrying shortly");
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
    public async Task<bool> RelayAsync(CancellationToken ct)
    {
        var held = leases.Held(WorkPartitions.Relay);
        if (held.Count == 0) return false;
        List<short> waiting;
        await using (var scope = scopes.CreateAsyncScope())
            waiting = await scope.ServiceProvider.GetRequiredService<ZapHubDb>().Events.IgnoreQueryFilters([ZapHubDb.TenantFilter])
                .Where(e => e.Sequence == null).Select(e => e.Partition).Distinct().ToListAsync(ct);
        var more = false;
        foreach (var partition in held.Intersect(waiting))
            more |= await RelayBatchAsync(partition, ct) == BatchSize;
        return more;
    }

    private async Task<int> RelayBatchAsync(short partition, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<TenantContext>().UseWorkerScope();
        var db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        using var turn = await writeGate.EnterAsync(db, ct);
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var postgres = db is PostgresZapHubDb;
        if (!await leases.ConfirmAsync(db, WorkPartitions.Relay, partition, ct)) return 0;

        var events = db.Events.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(e => e.Partition == partition);
        var batch = await events.Where(e => e.Sequence == null).OrderBy(e => e.Id).Take(BatchSize)
            .Select(e => new { e.Id, e.TenantId, e.Type, e.OnlyEndpointId }).ToListAsync(ct);
        if (batch.Count == 0) return 0;

        // Sequence = id + offset: increasing with the id inside the batch, and above every number the partition handed out before.
        var highest = await events.Where(e => e.Sequence != null).MaxAsync(e => e.Sequence, ct) ?? 0;
        var offset = highest - batch[0].Id + 1;
        var ids = batch.Select(e => e.Id).ToList();
        await events.Where(e => ids.Contains(e.Id)).ExecuteUpdateAsync(u => u.SetProperty(e => e.Sequence, e => e.Id + offset), ct);

        var tenants = batch.Select(e => e.TenantId).Distinct().ToList();
        var endpoints = await db.WebhookEndpoints.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking()
            .Where(x => x.Enabled && tenants.Contains(x.TenantId)).ToListAsync(ct);
        var now = time.UtcNow();
        if (endpoints.Count > 0)
        {
            var byTenant = endpoints.ToLookup(x => x.TenantId);
            foreach (var e in batch)
                foreach (var endpoint in byTenant[e.TenantId])
                {
                    if (e.OnlyEndpointId is { } only ? only != endpoint.Id : !endpoint.Wants(e.Type)) continue;
                    db.WebhookDeliveries.Add(new WebhookDelivery
                    {
                        TenantId = e.TenantId, EndpointId = endpoint.Id, EventId = e.Id, NextAttemptAt = now, CreatedAt = now,
                        Origin = e.OnlyEndpointId is null ? DeliveryOrigins.Event : DeliveryOrigins.Test,
                    });
                }
            await db.SaveChangesAsync(ct);
        }
        // Delivered with the commit: other nodes' streams, senders and open pages read again.
        var named = tenants.Count <= TenantsNamed ? string.Join(',', tenants) : "";
        if (postgres) await db.Database.ExecuteSqlAsync($"SELECT pg_notify({NotifyChannel}, {named})", ct);
        await transaction.CommitAsync(ct);
        Relayed.Pulse();
        RelayedFor?.Invoke(tenants);
        return batch.Count;
    }
}

/// <summary>A wake-up many waiters can share: take <see cref="Next"/> before reading, await it after finding nothing new.</summary>
public sealed class EventSignal
{
    private TaskCompletionSource next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task Next => Volatile.Read(ref next).Task;

    public void Pulse() => Interlocked.Exchange(ref next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}
