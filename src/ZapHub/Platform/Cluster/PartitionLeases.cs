using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ZapHub.Data;

namespace ZapHub.Platform.Cluster;

/// <summary>
/// Shares the partitioned background work between the nodes on one PostgreSQL database. Each node announces itself
/// (a member row it renews), counts the live members, and holds its fair share of each role's partitions: it renews
/// what it holds, takes free or expired partitions up to its share, and gives back what is above it, so a new node gets
/// work within a couple of rounds and a dead node's work is taken once its leases run out (<see cref="ClusterOptions.LeaseDuration"/>).
/// Workers confirm a partition inside their own transaction (<see cref="ConfirmAsync"/>): the row lock it takes makes a
/// takeover wait for the batch in flight, so two nodes never work one partition at once. SQLite has one node, which
/// holds everything.
/// </summary>
public sealed class PartitionLeases(IServiceScopeFactory scopes, NodeIdentity node, TimeProvider time, IOptions<ClusterOptions> options,
    IOptions<NodeOptions> nodeOptions, ILogger<PartitionLeases> logger) : BackgroundService
{
    private const string Members = "member";
    private sealed record Holding(IReadOnlyList<short> Partitions, DateTime Until);

    private readonly ConcurrentDictionary<string, Holding> held = new();
    private short? memberSlot;
    private bool? shared;

    /// <summary>Raised when this node took partitions it did not hold: their workers should look at once.</summary>
    public event Action? Taken;

    /// <summary>The partitions of a role this node holds now (all of them on SQLite); empty once its leases ran out unrenewed.</summary>
    public IReadOnlyList<short> Held(string role) =>
        !IsShared ? WorkPartitions.All
        : held.TryGetValue(role, out var h) && h.Until > time.UtcNow() ? h.Partitions : [];

    /// <summary>Whether nodes share the database (PostgreSQL), read once.</summary>
    private bool IsShared
    {
        get
        {
            if (shared is { } known) return known;
            using var scope = scopes.CreateScope();
            return (shared = scope.ServiceProvider.GetRequiredService<ZapHubDb>() is PostgresZapHubDb).Value;
        }
    }

    /// <summary>
    /// Inside the caller's transaction: whether this node still holds the partition. On PostgreSQL the lease row is
    /// share-locked until the transaction ends, so no other node can take it while the caller's batch is in flight.
    /// </summary>
    public async Task<bool> ConfirmAsync(ZapHubDb db, string role, short partition, CancellationToken ct)
    {
        if (db is not PostgresZapHubDb) return true;
        var l = SqlNames.Of<WorkLease>(db);
        var sql = $"SELECT {l[nameof(WorkLease.Partition)]} AS \"Value\" FROM {l} WHERE {l[nameof(WorkLease.Role)]} = {{0}} AND {l[nameof(WorkLease.Partition)]} = {{1}} " +
                  $"AND {l[nameof(WorkLease.Holder)]} = {{2}} AND {l[nameof(WorkLease.Until)]} > {{3}} FOR SHARE";
        return await db.Database.SqlQueryRaw<short>(sql, role, partition, node.Id, time.UtcNow()).AnyAsync(ct);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!nodeOptions.Value.RunsWorkers || !IsShared) return;
        using var timer = new PeriodicTimer(options.Value.RenewInterval, time);
        do
        {
            try { await BalanceAsync(stoppingToken); }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested) { logger.LogWarning(ex, "Renewing work leases failed; retrying"); }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken ct)
    {
        try { return await timer.WaitForNextTickAsync(ct); }
        catch (OperationCanceledException) { return false; }
    }

    /// <summary>One round: announce this node, then renew, give back and take each role's partitions.</summary>
    public async Task BalanceAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        var leases = db.WorkLeases;
        var now = time.UtcNow();
        var until = now + options.Value.LeaseDuration;
        await EnsureRowsAsync(db, ct);
        await AnnounceAsync(db, now, until, ct);

        var rows = await leases.AsNoTracking().ToListAsync(ct);
        var live = rows.Where(r => r.Role == Members && r.Until > now).Select(r => r.Holder).Distinct().Count();
        var share = (WorkPartitions.Count + Math.Max(1, live) - 1) / Math.Max(1, live);
        var tookAny = false;
        foreach (var role in WorkPartitions.Roles)
        {
            var mine = await leases.Where(l => l.Role == role && l.Holder == node.Id).ExecuteUpdateAsync(u => u.SetProperty(l => l.Until, until), ct) > 0
                ? await leases.AsNoTracking().Where(l => l.Role == role && l.Holder == node.Id).Select(l => l.Partition).ToListAsync(ct)
                : [];
            if (mine.Count > share)
            {
                var extra = mine.OrderByDescending(p => p).Take(mine.Count - share).ToList();
                await leases.Where(l => l.Role == role && l.Holder == node.Id && extra.Contains(l.Partition))
                    .ExecuteUpdateAsync(u => u.SetProperty(l => l.Holder, (string?)null).SetProperty(l => l.Until, now), ct);
                mine = mine.Except(extra).ToList();
            }
            // Free or expired ones, in an order that differs per node so that two nodes starting together mostly ask for different rows.
            foreach (var free in rows.Where(r => r.Role == role && (r.Holder is null || r.Until <= now)).OrderBy(r => (r.Partition * 7 + node.Id.GetHashCode()) & 0xFFFF))
            {
                if (mine.Count >= share) break;
                var partition = free.Partition;
                if (await leases.Where(l => l.Role == role && l.Partition == partition && (l.Holder == null || l.Until <= now))
                        .ExecuteUpdateAsync(u => u.SetProperty(l => l.Holder, node.Id).SetProperty(l => l.Until, until), ct) == 1)
                {
                    mine.Add(partition);
                    tookAny = true;
                    if (free.Holder is not null && free.Holder != node.Id)
                        logger.LogWarning("Took {Role} partition {Partition} from node {Node}, whose lease ran out", role, partition, free.Holder);
                }
            }
            held[role] = new Holding(mine.Order().ToArray(), until);
        }
        if (tookAny) Taken?.Invoke();
    }

    private bool rowsExist;

    private async Task EnsureRowsAsync(ZapHubDb db, CancellationToken ct)
    {
        if (rowsExist) return;
        var l = SqlNames.Of<WorkLease>(db);
        var sql = $"INSERT INTO {l} ({l[nameof(WorkLease.Role)]}, {l[nameof(WorkLease.Partition)]}, {l[nameof(WorkLease.Until)]}) VALUES ({{0}}, {{1}}, {{2}}) ON CONFLICT DO NOTHING";
        foreach (var role in WorkPartitions.Roles)
            foreach (var p in WorkPartitions.All)
                await db.Database.ExecuteSqlRawAsync(sql, [role, p, DateTime.UnixEpoch], ct);
        rowsExist = true;
    }

    /// <summary>A member row per node: a random slot, renewed like a lease; expired members are counted out and later removed.</summary>
    private async Task AnnounceAsync(ZapHubDb db, DateTime now, DateTime until, CancellationToken ct)
    {
        var leases = db.WorkLeases;
        if (memberSlot is { } slot && await leases.Where(l => l.Role == Members && l.Partition == slot && l.Holder == node.Id)
                .ExecuteUpdateAsync(u => u.SetProperty(l => l.Until, until), ct) == 1)
            return;
        await leases.Where(l => l.Role == Members && l.Until < now - TimeSpan.FromHours(1)).ExecuteDeleteAsync(ct);
        var l = SqlNames.Of<WorkLease>(db);
        var sql = $"INSERT INTO {l} ({l[nameof(WorkLease.Role)]}, {l[nameof(WorkLease.Partition)]}, {l[nameof(WorkLease.Holder)]}, {l[nameof(WorkLease.Until)]}) " +
                  "VALUES ({0}, {1}, {2}, {3}) ON CONFLICT DO NOTHING";
        while (true)
        {
            var candidate = (short)Random.Shared.Next(short.MaxValue);
            if (await db.Database.ExecuteSqlRawAsync(sql, [Members, candidate, node.Id, until], ct) == 1)
            {
                memberSlot = candidate;
                return;
            }
        }
    }

    /// <summary>A node that stops gives its work back at once instead of making the others wait for its leases to run out.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (shared != true) return;
        held.Clear();
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var leases = scope.ServiceProvider.GetRequiredService<ZapHubDb>().WorkLeases;
            await leases.Where(l => l.Holder == node.Id && l.Role != Members)
                .ExecuteUpdateAsync(u => u.SetProperty(l => l.Holder, (string?)null).SetProperty(l => l.Until, DateTime.UnixEpoch), cancellationToken);
            await leases.Where(l => l.Holder == node.Id && l.Role == Members).ExecuteDeleteAsync(cancellationToken);
        }
        catch (Exception ex) { logger.LogWarning(ex, "Handing back work leases at shutdown failed; they run out on their own"); }
    }
}
