using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ZapHub.Data;
using ZapHub.Features.Sessions;
using ZapHub.Platform;
using ZapHub.Platform.Cluster;

namespace ZapHub.Features.Messages;

/// <summary>
/// Which node holds which outbox rows. A node takes due messages with a lease (row locks with SKIP LOCKED on
/// PostgreSQL; SQLite has one writer), renews its leases while it lives, and hands messages back; any node returns
/// the waiting messages of a node whose leases ran out, and marks its sends in flight in doubt.
/// </summary>
public sealed class OutboxLeases(IServiceScopeFactory scopes, IOptions<MessagingOptions> options, NodeIdentity node, SendRules rules, WriteGate writeGate,
    ILogger<OutboxLeases> logger)
{
    private static readonly MessageStatus[] Waiting = [MessageStatus.Queued, MessageStatus.Scheduled, MessageStatus.Held];

    /// <summary>
    /// Messages this node could not hand back while the database was away. They are handed back again before leases are
    /// renewed: the renewal covers every row this node owns, so it would otherwise keep them leased, and unsent, for as
    /// long as the node lives.
    /// </summary>
    private readonly ConcurrentDictionary<Guid, byte> unreleased = new();

    /// <summary>
    /// Takes up to <paramref name="limit"/> due, unleased messages, the longest-due first and at most
    /// <see cref="MessagingOptions.MaxLeasedPerSession"/> per number, skipping numbers whose lanes are full. One statement:
    /// it reads one partial index of exactly the leasable rows (a dead node's leases are handed back by the sweep).
    /// </summary>
    public async Task<List<Message>> TakeAsync(DateTime now, int limit, List<Guid> skipSessions, CancellationToken ct)
    {
        await using var scope = WorkerScope(out var db);
        var m = SqlNames.Of<Message>(db);
        var (id, session, due) = (m[nameof(Message.Id)], m[nameof(Message.SessionId)], m[nameof(Message.DueAt)]);
        var skip = skipSessions.Count == 0 ? ""
            : $" AND ({session} IS NULL OR {session} NOT IN ({string.Join(", ", skipSessions.Select((_, i) => "{" + (i + 5) + "}"))}))";
        // A bounded look at the longest-due rows, however long the queue, ranked per number.
        var ranked = $"SELECT {id}, ROW_NUMBER() OVER (PARTITION BY {session} ORDER BY {due}) AS rn FROM (SELECT {id}, {session}, {due} FROM {m} " +
            $"WHERE {m[nameof(Message.Status)]} IN ('Queued', 'Scheduled', 'Held') AND {m[nameof(Message.LeaseOwner)]} IS NULL AND {due} <= {{2}}{skip} " +
            $"ORDER BY {due} LIMIT {{3}} * 4) candidates";
        var sql =
            $"UPDATE {m} SET {m[nameof(Message.LeaseOwner)]} = {{0}}, {m[nameof(Message.LeaseUntil)]} = {{1}}, {m[nameof(Message.Version)]} = {m[nameof(Message.Version)]} + 1 " +
            // The ranking reads a snapshot: the locking read checks again that each row is still unleased (PostgreSQL
            // re-evaluates only the locking query's own conditions on a row another node took meanwhile).
            $"WHERE {id} IN (SELECT {id} FROM {m} WHERE {m[nameof(Message.LeaseOwner)]} IS NULL AND {m[nameof(Message.Status)]} IN ('Queued', 'Scheduled', 'Held') AND {id} IN (SELECT {id} FROM ({ranked}) ranked WHERE rn <= {{4}}) " +
            $"ORDER BY {due} LIMIT {{3}}{(db is PostgresZapHubDb ? " FOR UPDATE SKIP LOCKED" : "")}) RETURNING {id} AS \"Value\"";
        object[] parameters = [node.Id, now + options.Value.LeaseDuration, now, limit, options.Value.MaxLeasedPerSession, .. skipSessions.Cast<object>()];
        List<Guid> ids;
        using (await writeGate.EnterAsync(db, ct))
            ids = await db.Database.SqlQueryRaw<Guid>(sql, parameters).ToListAsync(ct);
        if (ids.Count == 0) return [];
        return await db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking()
            .Where(x => ids.Contains(x.Id)).OrderBy(x => x.DueAt).ThenBy(x => x.CreatedAt).ToListAsync(ct);
    }

    /// <summary>
    /// Extends this node's leases (waiting and sending), after handing back what could not be handed back before; returns
    /// whether it handed any back (they are due now).
    /// </summary>
    public async Task<bool> RenewAsync(DateTime now, CancellationToken ct)
    {
        await using var scope = WorkerScope(out var db);
        var until = now + options.Value.LeaseDuration;
        var owner = node.Id;
        var handedBack = false;
        if (!unreleased.IsEmpty)
        {
            var ids = unreleased.Keys.ToList();
            using (await writeGate.EnterAsync(db, ct))
                await db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(m => ids.Contains(m.Id) && m.LeaseOwner == owner && Waiting.Contains(m.Status))
                    .ExecuteUpdateAsync(u => u.SetProperty(m => m.LeaseOwner, (string?)null).SetProperty(m => m.LeaseUntil, (DateTime?)null).SetProperty(m => m.DueAt, now), ct);
            foreach (var id in ids) unreleased.TryRemove(id, out _);
            handedBack = true;
        }
        if (db is PostgresZapHubDb)
        {
            // Rows the ledger holds right now are skipped, not waited for: it is updating their lease anyway.
            var m = SqlNames.Of<Message>(db);
            var sql = $"UPDATE {m} SET {m[nameof(Message.LeaseUntil)]} = {{0}} WHERE {m[nameof(Message.Id)]} IN (SELECT {m[nameof(Message.Id)]} FROM {m} " +
                $"WHERE {m[nameof(Message.LeaseOwner)]} = {{1}} AND {m[nameof(Message.Status)]} IN ('Queued', 'Scheduled', 'Held', 'Sending') FOR UPDATE SKIP LOCKED)";
            await db.Database.ExecuteSqlRawAsync(sql, [until, owner], ct);
            return handedBack;
        }
        using var turn = await writeGate.EnterAsync(db, ct);
        await db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter])
            .Where(m => m.LeaseOwner == owner && (Waiting.Contains(m.Status) || m.Status == MessageStatus.Sending))
            .ExecuteUpdateAsync(u => u.SetProperty(m => m.LeaseUntil, until), ct);
        return handedBack;
    }

    /// <summary>
    /// Leases that ran out belonged to a node that stopped. Its waiting messages go back to the queue. A message still
    /// Sending died with the node during the send call: the gateway may or may not have it. It is marked in doubt and
    /// the tenant's policy decides: hold it for a person, or resend. Returns whether anything became sendable.
    /// </summary>
    public async Task<bool> SweepAsync(DateTime now, CancellationToken ct)
    {
        await using var scope = WorkerScope(out var db);
        int reclaimed;
        using (await writeGate.EnterAsync(db, ct))
            reclaimed = await db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter])
                .Where(m => m.LeaseOwner != null && m.LeaseUntil < now && Waiting.Contains(m.Status))
                .ExecuteUpdateAsync(u => u.SetProperty(m => m.LeaseOwner, (string?)null).SetProperty(m => m.LeaseUntil, (DateTime?)null), ct);
        if (reclaimed > 0) logger.LogInformation("{Count} waiting message(s) leased by a node that stopped are back in the queue", reclaimed);
        var stale = await db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter])
            .Where(m => m.Status == MessageStatus.Sending && m.LeaseUntil < now).OrderBy(m => m.LeaseUntil).Take(500).ToListAsync(ct);
        if (stale.Count == 0) return reclaimed > 0;
        foreach (var m in stale)
        {
            var resend = (await rules.ForAsync(db, m.TenantId, now, ct)).Settings.InDoubt == InDoubtPolicy.Resend;
            db.MessageEvents.Add(new MessageEvent
            {
                TenantId = m.TenantId, MessageId = m.Id, At = now, Status = MessageStatus.InDoubt, Attempt = m.Attempts,
                Detail = Note.Of("in_doubt", ("node", m.LeaseOwner)).Store(),
            });
            if (resend)
                db.MessageEvents.Add(new MessageEvent { TenantId = m.TenantId, MessageId = m.Id, At = now, Status = MessageStatus.Queued, Detail = Note.Of("resent_in_doubt").Store() });
            m.WasInDoubt = true;
            (m.Status, m.StatusReason, m.DueAt, m.LeaseOwner, m.LeaseUntil, m.UpdatedAt) =
                (resend ? MessageStatus.Queued : MessageStatus.InDoubt, resend ? null : "in_doubt", now, null, null, now);
        }
        try { await db.SaveChangesAsync(ct); }
        catch (DbUpdateConcurrencyException) { return false; /* another node swept them first */ }
        // The dead node also held these numbers' send slots, until a send it will never finish ended; what waited for
        // that send goes now.
        var numbers = stale.Where(m => m.SessionId is not null).Select(m => m.SessionId!.Value).Distinct().ToList();
        await db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(s => numbers.Contains(s.Id) && s.NextSendAt > now)
            .ExecuteUpdateAsync(u => u.SetProperty(s => s.NextSendAt, now), ct);
        var released = await db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter])
            .Where(m => m.SessionId != null && numbers.Contains(m.SessionId.Value) && m.Status == MessageStatus.Queued && m.StatusReason == Governor.Reasons.SendInFlight && m.LeaseOwner == null)
            .ExecuteUpdateAsync(u => u.SetProperty(m => m.DueAt, now).SetProperty(m => m.StatusReason, (string?)null).SetProperty(m => m.Version, m => m.Version + 1), ct);
        if (released > 0) logger.LogInformation("{Count} message(s) that waited for those sends go now", released);
        logger.LogWarning("{Count} message(s) were in flight on a node that stopped; marked in doubt", stale.Count);
        return true;
    }

    /// <summary>Hands one message back to the queue, due in a few seconds; when the database is away, at the next renewal.</summary>
    public async Task ReleaseAsync(Guid id, DateTime now)
    {
        try
        {
            await using var scope = WorkerScope(out var db);
            var owner = node.Id;
            var later = now + TimeSpan.FromSeconds(5);
            await db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(m => m.Id == id && m.LeaseOwner == owner && Waiting.Contains(m.Status))
                .ExecuteUpdateAsync(u => u.SetProperty(m => m.LeaseOwner, (string?)null).SetProperty(m => m.LeaseUntil, (DateTime?)null).SetProperty(m => m.DueAt, later));
        }
        catch (Exception ex)
        {
            unreleased.TryAdd(id, 0);
            logger.LogWarning(ex, "Could not hand back message {MessageId}; it is handed back at the next lease renewal", id);
        }
    }

    /// <summary>At shutdown: every waiting message this node holds goes back to the queue at once.</summary>
    public async Task ReleaseAllAsync(CancellationToken ct)
    {
        try
        {
            await using var scope = WorkerScope(out var db);
            var owner = node.Id;
            await db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(m => m.LeaseOwner == owner && Waiting.Contains(m.Status))
                .ExecuteUpdateAsync(u => u.SetProperty(m => m.LeaseOwner, (string?)null).SetProperty(m => m.LeaseUntil, (DateTime?)null), ct);
        }
        catch (Exception ex) { logger.LogWarning(ex, "Could not hand back leased messages; they return when their lease ends"); }
    }

    /// <summary>Set-based work on every tenant's outbox rows (ADR 0003's worker scope).</summary>
    private AsyncServiceScope WorkerScope(out ZapHubDb db)
    {
        var scope = scopes.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<TenantContext>().UseWorkerScope();
        db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        return scope;
    }
}
