using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.Extensions.Options;
using ZapHub.Data;
using ZapHub.Features.Gateways;
using ZapHub.Features.Sessions;
using ZapHub.Gateways;
using ZapHub.Platform;

namespace ZapHub.Features.Messages;

public sealed class MessagingOptions
{
    public const string Section = "Messages";

    /// <summary>How long a node holds a message it took; renewed while it lives, so a dead node's messages return after this.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the dispatcher looks for due messages when nothing woke it.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    [Range(1, 100_000)] public int MaxLeasedPerNode { get; set; } = 2000;
    [Range(1, 10_000)] public int MaxLeasedPerSession { get; set; } = 100;

    /// <summary>The first retry's delay, doubled per attempt (with ±20% jitter) up to <see cref="RetryMaxDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(10);
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>How often a message held for a disconnected number looks again (a reconnect also wakes it at once).</summary>
    public TimeSpan HoldRecheck { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A number the gateway rate-limited rests this long.</summary>
    public TimeSpan RateLimitPause { get; set; } = TimeSpan.FromMinutes(15);
}

/// <summary>
/// The outbox's worker. It leases due messages (row locks with SKIP LOCKED on PostgreSQL; SQLite has one writer),
/// groups them into one lane per number so a number sends one message at a time, asks the <see cref="Governor"/>
/// whether the number may send, and records each step through the <see cref="DispatchLedger"/>. A message is marked
/// Sending — durably — before the gateway is called: after a crash, exactly those are in doubt.
/// </summary>
public sealed class MessageDispatcher(
    IServiceScopeFactory scopes, TimeProvider time, IOptions<MessagingOptions> options, IOptions<NodeOptions> nodeOptions,
    NodeIdentity node, DispatchLedger ledger, GatewayClients clients, WriteGate writeGate, Platform.Telemetry.ZapHubMetrics metrics, ILogger<MessageDispatcher> logger) : BackgroundService
{
    private static readonly MessageStatus[] Waiting = [MessageStatus.Queued, MessageStatus.Scheduled, MessageStatus.Held];

    /// <summary>The slot a starting send holds: longer than any gateway call, freed (plus the gap) when the call ends.</summary>
    private static readonly TimeSpan SlotLock = TimeSpan.FromMinutes(3);

    private sealed class Lane
    {
        public readonly Queue<Message> Pending = new();
        public Task? Runner;
    }

    private sealed record Rules(MessagingSettings Settings, TimeZoneInfo Zone, DateTime Until);

    private readonly SemaphoreSlim wake = new(0);
    private readonly Lock sync = new();
    private readonly Dictionary<Guid, Lane> lanes = [];
    private readonly ConcurrentDictionary<Guid, Rules> rules = new();

    /// <summary>
    /// Messages a lane handed back while the database was away. They are handed back again before leases are renewed:
    /// the renewal covers every row this node owns, so it would otherwise keep them leased, and unsent, for as long as
    /// the node lives.
    /// </summary>
    private readonly ConcurrentDictionary<Guid, byte> unreleased = new();
    private int leased;
    private CancellationToken? running;

    // Whether due messages may be waiting unleased in the database; a message accepted then must queue behind them.
    private bool backlog = true;
    private int backlogMarks;

    public void Wake()
    {
        if (wake.CurrentCount == 0) wake.Release();
    }

    /// <summary>Drops a tenant's cached rules on this node after they changed (other nodes re-read within seconds).</summary>
    public void Forget(Guid tenantId) => rules.TryRemove(tenantId, out _);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!nodeOptions.Value.RunsWorkers) return;
        lock (sync) running = stoppingToken;
        var o = options.Value;
        DateTime lastRenew = DateTime.MinValue, lastSweep = DateTime.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var now = time.UtcNow();
                if (now - lastRenew >= o.LeaseDuration / 3)
                {
                    await RenewAsync(now, stoppingToken);
                    lastRenew = now;
                }
                if (now - lastSweep >= o.LeaseDuration / 3)
                {
                    await SweepAsync(now, stoppingToken);
                    lastSweep = now;
                }
                await LeaseAsync(now, stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError(ex, "A dispatch pass failed; trying again shortly");
            }
            try { await wake.WaitAsync(o.PollInterval, stoppingToken); }
            catch (OperationCanceledException) { break; }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // Sends in flight finish (they are never cut off halfway); what still waits is handed back at once.
        Task[] running;
        lock (sync) running = lanes.Values.Select(l => l.Runner).OfType<Task>().ToArray();
        await Task.WhenAll(running).WaitAsync(cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
        try
        {
            await using var scope = WorkerScope(out var db);
            var owner = node.Id;
            await db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(m => m.LeaseOwner == owner && Waiting.Contains(m.Status))
                .ExecuteUpdateAsync(u => u.SetProperty(m => m.LeaseOwner, (string?)null).SetProperty(m => m.LeaseUntil, (DateTime?)null), cancellationToken);
        }
        catch (Exception ex) { logger.LogWarning(ex, "Could not hand back leased messages; they return when their lease ends"); }
    }

    // ---- leasing ------------------------------------------------------------------------------------------

    private async Task LeaseAsync(DateTime now, CancellationToken ct)
    {
        var o = options.Value;
        int room;
        List<Guid> full;
        lock (sync)
        {
            room = Math.Min(500, o.MaxLeasedPerNode - leased);
            full = lanes.Where(l => l.Value.Pending.Count >= o.MaxLeasedPerSession).Select(l => l.Key).Take(200).ToList();
        }
        // Refilled in chunks: each lease scans the due messages, so taking a handful whenever one finished would repeat that
        // scan for every few sends while the lanes still hold plenty.
        if (room < Math.Max(1, Math.Min(500, o.MaxLeasedPerNode) / 4)) return;

        int marks;
        lock (sync) marks = backlogMarks;
        await using var scope = WorkerScope(out var db);
        var ids = await LeaseIdsAsync(db, now, room, full, ct);
        // Everything due was taken and no accepted message was sent to the queue meanwhile: new ones may skip it.
        lock (sync)
            if (ids.Count < room && full.Count == 0 && marks == backlogMarks) backlog = false;
        if (ids.Count == 0) return;
        var messages = await db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking()
            .Where(m => ids.Contains(m.Id)).OrderBy(m => m.DueAt).ThenBy(m => m.CreatedAt).ToListAsync(ct);
        lock (sync)
        {
            leased += messages.Count;
            Enqueue(messages, ct);
        }
        if (ids.Count == room) Wake();
    }

    private void Enqueue(IEnumerable<Message> messages, CancellationToken ct)
    {
        foreach (var m in messages)
        {
            var key = m.SessionId ?? Guid.Empty;
            if (!lanes.TryGetValue(key, out var lane)) lanes[key] = lane = new Lane();
            lane.Pending.Enqueue(m);
            lane.Runner ??= Task.Run(() => RunLaneAsync(key, lane, ct), CancellationToken.None);
        }
    }

    /// <summary>
    /// Messages being accepted on this node that it can send itself are inserted already leased to it and, once
    /// committed, go straight into its lanes (<see cref="Adopt"/>): no lease query and one write less per message.
    /// Only while nothing older waits in the queue (it would be overtaken) and the node and the number's lane have
    /// room; the rest go to the queue as usual. If the node dies, their leases run out like any other.
    /// </summary>
    public List<Message> Reserve(IEnumerable<Message> accepted)
    {
        var taken = new List<Message>();
        lock (sync)
        {
            if (running is null || backlog) return taken;
            var o = options.Value;
            var until = time.UtcNow() + o.LeaseDuration;
            var perLane = new Dictionary<Guid, int>();
            foreach (var m in accepted)
            {
                var key = m.SessionId ?? Guid.Empty;
                var inLane = perLane.GetValueOrDefault(key, lanes.TryGetValue(key, out var lane) ? lane.Pending.Count : 0);
                if (m.Status != MessageStatus.Queued || m.SessionId is null || leased >= o.MaxLeasedPerNode || inLane >= o.MaxLeasedPerSession)
                {
                    // This one waits in the queue, so later ones must too until a lease pass has drained it.
                    if (m.Status == MessageStatus.Queued) (backlog, backlogMarks) = (true, backlogMarks + 1);
                    if (backlog) break;
                    continue;
                }
                perLane[key] = inLane + 1;
                (m.LeaseOwner, m.LeaseUntil) = (node.Id, until);
                leased++;
                taken.Add(m);
            }
        }
        return taken;
    }

    /// <summary>The reserved messages were committed: this node sends them.</summary>
    public void Adopt(List<Message> reserved)
    {
        if (reserved.Count == 0) return;
        lock (sync) Enqueue(reserved, running!.Value);
    }

    /// <summary>The reserved messages were not committed: they never existed.</summary>
    public void Unreserve(List<Message> reserved)
    {
        if (reserved.Count == 0) return;
        foreach (var m in reserved) (m.LeaseOwner, m.LeaseUntil) = (null, null);
        lock (sync) leased -= reserved.Count;
    }

    /// <summary>
    /// One statement takes due, unleased messages for this node (a dead node's leases are handed back by the sweep, so
    /// the query reads one partial index of exactly the leasable rows). On PostgreSQL the inner SELECT locks its rows with
    /// SKIP LOCKED, so two nodes never wait on, or take, the same rows; SQLite runs one writer at a time anyway.
    /// Lanes that already hold plenty are skipped so one busy number cannot crowd out the others.
    /// </summary>
    private async Task<List<Guid>> LeaseIdsAsync(ZapHubDb db, DateTime now, int limit, List<Guid> skipSessions, CancellationToken ct)
    {
        var n = SqlNames.For(db);
        var postgres = db is PostgresZapHubDb;
        var skip = skipSessions.Count == 0 ? ""
            : $" AND ({n.SessionId} IS NULL OR {n.SessionId} NOT IN ({string.Join(", ", skipSessions.Select((_, i) => "{" + (i + 5) + "}"))}))";
        // The longest-due unleased rows (a bounded look, however long the queue), at most a few per number, so one busy
        // number cannot take a node's whole share.
        var due = $"SELECT {n.Id}, ROW_NUMBER() OVER (PARTITION BY {n.SessionId} ORDER BY {n.DueAt}) AS rn FROM (SELECT {n.Id}, {n.SessionId}, {n.DueAt} FROM {n.Table} " +
            $"WHERE {n.Status} IN ('Queued', 'Scheduled', 'Held') AND {n.LeaseOwner} IS NULL AND {n.DueAt} <= {{2}}{skip} " +
            $"ORDER BY {n.DueAt} LIMIT {{3}} * 4) candidates";
        var sql =
            $"UPDATE {n.Table} SET {n.LeaseOwner} = {{0}}, {n.LeaseUntil} = {{1}}, {n.Version} = {n.Version} + 1 " +
            $"WHERE {n.Id} IN (SELECT {n.Id} FROM {n.Table} WHERE {n.Id} IN (SELECT {n.Id} FROM ({due}) ranked WHERE rn <= {{4}}) " +
            $"ORDER BY {n.DueAt} LIMIT {{3}}{(postgres ? " FOR UPDATE SKIP LOCKED" : "")}) RETURNING {n.Id} AS \"Value\"";
        object[] parameters = [node.Id, now + options.Value.LeaseDuration, now, limit, options.Value.MaxLeasedPerSession, .. skipSessions.Cast<object>()];
        using var turn = await writeGate.EnterAsync(db, ct);
        return await db.Database.SqlQueryRaw<Guid>(sql, parameters).ToListAsync(ct);
    }

    private async Task RenewAsync(DateTime now, CancellationToken ct)
    {
        await using var scope = WorkerScope(out var db);
        var until = now + options.Value.LeaseDuration;
        if (!unreleased.IsEmpty)
        {
            var ids = unreleased.Keys.ToList();
            var owner = node.Id;
            using (await writeGate.EnterAsync(db, ct))
                await db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(m => ids.Contains(m.Id) && m.LeaseOwner == owner && Waiting.Contains(m.Status))
                    .ExecuteUpdateAsync(u => u.SetProperty(m => m.LeaseOwner, (string?)null).SetProperty(m => m.LeaseUntil, (DateTime?)null).SetProperty(m => m.DueAt, now), ct);
            foreach (var id in ids) unreleased.TryRemove(id, out _);
            Wake();
        }
        if (db is PostgresZapHubDb)
        {
            // Rows the ledger holds right now are skipped, not waited for: it is updating their lease anyway.
            var n = SqlNames.For(db);
            var sql = $"UPDATE {n.Table} SET {n.LeaseUntil} = {{0}} WHERE {n.Id} IN (SELECT {n.Id} FROM {n.Table} WHERE {n.LeaseOwner} = {{1}} " +
                $"AND {n.Status} IN ('Queued', 'Scheduled', 'Held', 'Sending') FOR UPDATE SKIP LOCKED)";
            await db.Database.ExecuteSqlRawAsync(sql, [until, node.Id], ct);
            return;
        }
        var self = node.Id;
        using var turn = await writeGate.EnterAsync(db, ct);
        await db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter])
            .Where(m => m.LeaseOwner == self && (Waiting.Contains(m.Status) || m.Status == MessageStatus.Sending))
            .ExecuteUpdateAsync(u => u.SetProperty(m => m.LeaseUntil, until), ct);
    }

    /// <summary>
    /// Leases that ran out belonged to a node that stopped. Its waiting messages go back to the queue. A message still
    /// Sending died with the node during the send call: the gateway may or may not have it. It is marked in doubt and
    /// the tenant's policy decides: hold it for a person, or resend.
    /// </summary>
    private async Task SweepAsync(DateTime now, CancellationToken ct)
    {
        await using var scope = WorkerScope(out var db);
        // Waiting messages whose node stopped renewing their lease go back to the queue.
        int reclaimed;
        using (await writeGate.EnterAsync(db, ct))
            reclaimed = await db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter])
                .Where(m => m.LeaseOwner != null && m.LeaseUntil < now && Waiting.Contains(m.Status))
                .ExecuteUpdateAsync(u => u.SetProperty(m => m.LeaseOwner, (string?)null).SetProperty(m => m.LeaseUntil, (DateTime?)null), ct);
        if (reclaimed > 0) logger.LogInformation("{Count} waiting message(s) leased by a node that stopped are back in the queue", reclaimed);
        var stale = await db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter])
            .Where(m => m.Status == MessageStatus.Sending && m.LeaseUntil < now).OrderBy(m => m.LeaseUntil).Take(500).ToListAsync(ct);
        if (stale.Count == 0) return;
        foreach (var m in stale)
        {
            var resend = (await RulesAsync(db, m.TenantId, now, ct)).Settings.InDoubt == InDoubtPolicy.Resend;
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
        catch (DbUpdateConcurrencyException) { return; /* another node swept them first */ }
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
        Wake();
    }

    // ---- lanes --------------------------------------------------------------------------------------------

    /// <summary>
    /// A number's messages, one at a time. A send's end is recorded while the next message is prepared: the ledger
    /// commits ends before starts, so the next start (in the same group or a later one) sees the number's slot free,
    /// and the lane does not wait out a whole commit between two sends.
    /// </summary>
    private async Task RunLaneAsync(Guid key, Lane lane, CancellationToken ct)
    {
        Ended? previous = null;
        Target? known = null;
        while (true)
        {
            Message m;
            lock (sync)
            {
                if (!lane.Pending.TryDequeue(out m!) || ct.IsCancellationRequested)
                {
                    lane.Runner = null;
                    if (lane.Pending.Count == 0) lanes.Remove(key);
                    break;
                }
            }
            using var logScope = logger.BeginScope(new Dictionary<string, object?> { ["TenantId"] = m.TenantId, ["SessionId"] = m.SessionId, ["MessageId"] = m.Id });
            try
            {
                // The number's gap after the last send, waited here rather than found out by the ledger.
                if (previous?.NextSendAt - time.UtcNow() is { } gap && gap > TimeSpan.Zero) await Task.Delay(gap, time, ct);
                (var ended, known) = await ProcessAsync(m, known, ct);
                await RecordedAsync(previous);
                previous = ended;
            }
            catch (Exception ex)
            {
                if (!ct.IsCancellationRequested) logger.LogError(ex, "Dispatching message {MessageId} failed; it is tried again shortly", m.Id);
                await ReleaseAsync(m.Id);
            }
            finally
            {
                lock (sync) leased--;
            }
        }
        await RecordedAsync(previous);
    }

    /// <summary>A send that left: its end being recorded, and when the number may send again.</summary>
    private sealed record Ended(Guid MessageId, Task Recording, DateTime NextSendAt);

    /// <summary>A number and its gateway server as read at <see cref="ReadAt"/>.</summary>
    private sealed record Target(Session Session, Gateway Gateway, DateTime ReadAt);

    /// <summary>
    /// How long a lane decides on the number it read for its previous send. The start re-checks, atomically, that the
    /// number is still connected, enabled and not paused, and its daily count; what may be stale is only what the
    /// gateway call needs (a changed credential fails that one call, which is retried).
    /// </summary>
    private static readonly TimeSpan TargetReuse = TimeSpan.FromSeconds(1);

    private async Task RecordedAsync(Ended? ended)
    {
        if (ended is null) return;
        // A message whose end could not be recorded stays Sending; when its lease runs out the sweep marks it in doubt.
        try { await ended.Recording; }
        catch (Exception ex) { logger.LogError(ex, "Recording the end of message {MessageId}'s send failed", ended.MessageId); }
    }

    private async Task ReleaseAsync(Guid id)
    {
        try
        {
            await using var scope = WorkerScope(out var db);
            var owner = node.Id;
            var later = time.UtcNow() + TimeSpan.FromSeconds(5);
            await db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(m => m.Id == id && m.LeaseOwner == owner && Waiting.Contains(m.Status))
                .ExecuteUpdateAsync(u => u.SetProperty(m => m.LeaseOwner, (string?)null).SetProperty(m => m.LeaseUntil, (DateTime?)null).SetProperty(m => m.DueAt, later));
        }
        catch (Exception ex)
        {
            unreleased.TryAdd(id, 0);
            logger.LogWarning(ex, "Could not hand back message {MessageId}; it is handed back at the next lease renewal", id);
        }
    }

    /// <summary>
    /// Sends the message, or decides it waits or moves. Returns the send whose end is being recorded, if one left, and
    /// the number as read (reused for the lane's next message for a moment).
    /// </summary>
    private async Task<(Ended?, Target?)> ProcessAsync(Message m, Target? known, CancellationToken ct)
    {
        for (var round = 0; ; round++)
        {
            await using var scope = TenantScope(m.TenantId, out var db);
            var now = time.UtcNow();
            var tenantRules = await RulesAsync(db, m.TenantId, now, ct);
            // The number and its gateway server in one round trip.
            var target = round == 0 && known is not null && known.Session.Id == m.SessionId && now - known.ReadAt < TargetReuse ? known
                : m.SessionId is { } sessionId
                ? await db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking().Where(s => s.Id == sessionId)
                    .Select(s => new Target(s, db.Gateways.First(g => g.Id == s.GatewayId), now)).FirstOrDefaultAsync(ct)
                : null;
            var session = target?.Session;
            var verdict = session is null
                ? new Verdict.Unavailable(Governor.Reasons.SessionRemoved)
                : Governor.Decide(session, tenantRules.Settings, tenantRules.Zone, now, Random.Shared);

            switch (verdict)
            {
                case Verdict.Unavailable unavailable:
                    await RerouteOrHoldAsync(db, m, unavailable.Reason, tenantRules, now, ct);
                    return (null, null);
                case Verdict.Wait wait:
                    await DeferAsync(db, m.Id, wait.Until, wait.Reason, tenantRules, now, ct);
                    return (null, target);
                case Verdict.Go go:
                    var today = Governor.Today(tenantRules.Zone, now);
                    var (begin, busyUntil) = await ledger.BeginAsync(new DispatchLedger.Begin(
                        m.Id, m.Status, session!.Id, now, today, go.DailyLimit, now + SlotLock, now + options.Value.LeaseDuration));
                    switch (begin)
                    {
                        case BeginResult.Gone:
                            return (null, target);
                        case BeginResult.Unavailable:
                            // The number changed since it was read: read it again and decide again.
                            known = null;
                            continue;
                        case BeginResult.SlotBusy when busyUntil!.Value - now > SlotLock - TimeSpan.FromSeconds(10):
                            // Another node is sending on this number right now; its gap starts when that call ends.
                            await Task.Delay(TimeSpan.FromMilliseconds(50), time, ct);
                            continue;
                        case BeginResult.SlotBusy when busyUntil.Value - now <= TimeSpan.FromSeconds(30):
                            // The number sent a moment ago (here or on another node): wait out its gap, then decide again.
                            await Task.Delay(busyUntil.Value - now + TimeSpan.FromMilliseconds(1), time, ct);
                            continue;
                        case BeginResult.SlotBusy:
                            // A send that started long ago and has not ended: its node is slow, or died during the call. The wait
                            // ends when that send ends or is found in doubt (SweepAsync), at the latest when its slot runs out.
                            await DeferAsync(db, m.Id, busyUntil!.Value, Governor.Reasons.SendInFlight, tenantRules, now, ct);
                            return (null, target);
                        case BeginResult.LimitReached when round < 3:
                            continue;
                        case BeginResult.LimitReached:
                            await DeferAsync(db, m.Id, now + TimeSpan.FromMinutes(1), Governor.Reasons.DailyLimit, tenantRules, now, ct);
                            return (null, null);
                    }
                    return (await SendAsync(db, m, session, target!.Gateway, go, today, tenantRules, scope.ServiceProvider.GetRequiredService<SessionService>()), target);
            }
        }
    }

    private async Task<Ended> SendAsync(ZapHubDb db, Message m, Session session, Gateway gateway, Verdict.Go go, string today, Rules tenantRules, SessionService sessions)
    {
        var attempt = m.Attempts + 1;
        var started = time.GetTimestamp();
        SendOutcome outcome;
        // Not cancelled by shutdown: a call cut off halfway would leave the message in doubt for no reason.
        var ct = CancellationToken.None;
        try
        {
            var media = m.MediaKind is { } kind
                ? new OutgoingMedia(kind.ToString().ToLowerInvariant(), m.MediaUrl,
                    m.MediaFileId is { } fileId ? await db.MediaFiles.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(f => f.Id == fileId).Select(f => f.Content).FirstOrDefaultAsync(ct) : null,
                    m.MediaFileName, m.MediaMimeType)
                : null;
            if (media is { Url: null, Content: null })
                outcome = new SendOutcome(null, "media_missing", "The uploaded file was deleted before the message went out.", false);
            else
            {
                var sent = await clients.For(gateway).SendAsync(sessions.TargetOf(session), new OutgoingMessage(PhoneNumberRules.Digits(m.Peer), m.Text, media, go.TypingDelay), ct);
                outcome = SendOutcome.Delivered(sent.ProviderMessageId);
            }
        }
        catch (GatewayException ex)
        {
            outcome = Classify(ex, attempt, m.HeldSince, tenantRules.Settings, time.UtcNow());
            // "Not connected", whatever ZapHub believed: the number leaves Connected now, so its other messages are held too.
            if (GatewayFailureOutcome.Of(ex).NumberDown) await sessions.ReportNotConnectedAsync(session.Id, ct);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Sending message {MessageId} failed unexpectedly", m.Id);
            outcome = Classify(new GatewayException(GatewayFailure.Transient, "ZapHub could not complete the call: " + ex.Message, null, ex), attempt, m.HeldSince, tenantRules.Settings, time.UtcNow());
        }

        var ended = time.UtcNow();
        var took = time.GetElapsedTime(started).TotalMilliseconds;
        var result = outcome.Sent ? "sent" : outcome.Hold ? "held" : outcome.Retry ? "retry" : "failed";
        metrics.SendAttempt(result, outcome.Sent ? null : outcome.Category);
        if (!outcome.Sent)
            logger.Log(outcome.Retry ? LogLevel.Information : LogLevel.Warning, "Message {MessageId} attempt {Attempt} on number {SessionId} via gateway {GatewayId}: {Result} ({Category}): {Reason}",
                m.Id, attempt, session.Id, gateway.Id, result, outcome.Category, outcome.Reason);
        var category = Note.Key("mcat." + outcome.Category);
        var detail = (outcome.Sent
            ? Note.Of("attempt_sent", ("attempt", attempt), ("number", session.DisplayName), ("ms", Math.Round(took)))
            : outcome.Hold
            ? Note.Of("held_refused", ("number", session.DisplayName), ("reason", outcome.Reason), ("category", category), ("minutes", tenantRules.Settings.HoldMinutes))
            : outcome.Retry
            ? Note.Of("attempt_failed_retry", ("attempt", attempt), ("number", session.DisplayName), ("reason", outcome.Reason), ("category", category), ("retryAt", $"{outcome.RetryAt:HH:mm:ss}"))
            : Note.Of("attempt_failed", ("attempt", attempt), ("number", session.DisplayName), ("reason", outcome.Reason), ("category", category))).Store();
        var end = new DispatchLedger.End(m.Id, m.TenantId, session.Id, attempt, today, ended, outcome, ended + go.Gap, detail);
        return new Ended(m.Id, RecordEndAsync(end), end.NextSendAt);
    }

    /// <summary>
    /// The gateway has the message: its end is recorded even if the database is away for a while. Given up only after
    /// a lease's length, when the sweep (on any node) treats the send as in doubt anyway.
    /// </summary>
    private async Task RecordEndAsync(DispatchLedger.End end)
    {
        var giveUp = time.UtcNow() + options.Value.LeaseDuration;
        while (true)
        {
            try
            {
                await ledger.EndAsync(end);
                return;
            }
            catch (Exception ex) when (StorageFailure.Is(ex) && time.UtcNow() < giveUp)
            {
                logger.LogWarning("Recording the end of message {MessageId}'s send waits for the database: {Error}", end.MessageId, ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), time);
            }
        }
    }

    /// <summary>
    /// What the failure means (<see cref="GatewayFailureOutcome"/>): transient trouble retries with growing, jittered delays;
    /// a number that is down (or a gateway the operator must fix) holds the message, for the tenant's hold time at most; a
    /// number WhatsApp does not know fails at once.
    /// </summary>
    private SendOutcome Classify(GatewayException ex, int attempt, DateTime? heldSince, MessagingSettings settings, DateTime now)
    {
        var o = options.Value;
        var meaning = GatewayFailureOutcome.Of(ex);
        var category = meaning.SendCategory;
        var retryable = meaning.OnSend != OnSend.Fail;
        var reason = ex.Failure == GatewayFailure.InvalidNumber ? "The number is not on WhatsApp." : ex.Message;
        if (reason.Length > 280) reason = reason[..280];
        if (meaning.OnSend == OnSend.Hold)
            return now - (heldSince ?? now) >= TimeSpan.FromMinutes(settings.HoldMinutes)
                ? new SendOutcome(null, "expired", reason, false) { Explained = Note.Of("send_expired", ("detail", reason), ("minutes", settings.HoldMinutes)).Store() }
                : new SendOutcome(null, category, reason, true, now + o.HoldRecheck, null, Hold: true);
        DateTime? pause = ex.Failure == GatewayFailure.RateLimited ? now + o.RateLimitPause : null;
        if (!retryable || attempt >= settings.MaxAttempts)
            return new SendOutcome(null, category, reason, false, null, pause)
            {
                Explained = retryable ? Note.Of("send_gave_up", ("attempts", attempt), ("category", Note.Key("mcat." + category)), ("detail", reason)).Store() : null,
            };
        var delay = o.RetryBaseDelay * Math.Pow(2, Math.Min(attempt - 1, 16));
        if (delay > o.RetryMaxDelay) delay = o.RetryMaxDelay;
        delay *= 0.8 + Random.Shared.NextDouble() * 0.4;
        return new SendOutcome(null, category, reason, true, (pause ?? now) + delay, pause);
    }

    // ---- waiting, holding, failing over ---------------------------------------------------------------------

    /// <summary>The number cannot send: another connected number of the tenant takes the message if allowed, otherwise it waits (for a while).</summary>
    private async Task RerouteOrHoldAsync(ZapHubDb db, Message m, string reason, Rules tenantRules, DateTime now, CancellationToken ct)
    {
        var settings = tenantRules.Settings;
        if (m.Route == MessageRoute.Any || settings.FailoverToOtherNumbers)
        {
            var others = await db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking()
                .Where(s => s.TenantId == m.TenantId && s.Id != m.SessionId && s.Enabled && s.State == SessionState.Connected && (s.PausedUntil == null || s.PausedUntil <= now))
                .Select(s => new { s.Id, s.DisplayName }).ToListAsync(ct);
            if (others.Count > 0)
            {
                var to = others[Random.Shared.Next(others.Count)];
                await TransitionAsync(db, m.Id, now, x => (x.SessionId, x.Status, x.StatusReason, x.DueAt, x.HeldSince) = (to.Id, MessageStatus.Queued, null, now, null),
                    Note.Of("moved", ("number", to.DisplayName), ("why", Why(reason))).Store(), ct);
                Wake();
                return;
            }
        }
        var heldSince = m.HeldSince ?? now;
        if (now - heldSince >= TimeSpan.FromMinutes(settings.HoldMinutes))
        {
            await TransitionAsync(db, m.Id, now, x => (x.Status, x.StatusReason, x.FailureCategory, x.FailedAt) =
                (MessageStatus.Failed, Note.Of("send_expired", ("detail", Why(reason)), ("minutes", settings.HoldMinutes)).Store(), "expired", now), null, ct);
            return;
        }
        await TransitionAsync(db, m.Id, now, x => (x.Status, x.StatusReason, x.HeldSince, x.DueAt) = (MessageStatus.Held, reason, heldSince, now + options.Value.HoldRecheck),
            Note.Of("held_number", ("why", Why(reason)), ("minutes", settings.HoldMinutes)).Store(), ct);
    }

    private Task DeferAsync(ZapHubDb db, Guid id, DateTime until, string? reason, Rules tenantRules, DateTime now, CancellationToken ct)
    {
        var local = TimeZoneInfo.ConvertTimeFromUtc(until, tenantRules.Zone);
        var detail = reason switch
        {
            Governor.Reasons.QuietHours => Note.Of("waiting_quiet_hours", ("until", $"{local:HH:mm}")).Store(),
            Governor.Reasons.DailyLimit => Note.Of("waiting_daily_limit", ("until", Note.Local(local))).Store(),
            Governor.Reasons.Paused => Note.Of("waiting_paused", ("until", Note.Local(local))).Store(),
            Governor.Reasons.SendInFlight => Note.Of("waiting_send_in_flight", ("until", $"{local:HH:mm:ss}")).Store(),
            _ => null,
        };
        return TransitionAsync(db, id, now, x => (x.Status, x.StatusReason, x.DueAt) = (MessageStatus.Queued, reason, until), detail, ct);
    }

    /// <summary>Changes a message this node holds and hands it back; the timeline gets a line when its status, reason or number changed.</summary>
    private async Task TransitionAsync(ZapHubDb db, Guid id, DateTime now, Action<Message> change, string? detail, CancellationToken ct)
    {
        var owner = node.Id;
        var m = await db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter]).FirstOrDefaultAsync(x => x.Id == id && x.LeaseOwner == owner && Waiting.Contains(x.Status), ct);
        if (m is null) return;
        var before = (m.Status, m.StatusReason, m.SessionId);
        change(m);
        (m.LeaseOwner, m.LeaseUntil, m.UpdatedAt) = (null, null, now);
        if (detail is not null && (m.Status, m.StatusReason, m.SessionId) != before)
            db.MessageEvents.Add(new MessageEvent { TenantId = m.TenantId, MessageId = id, At = now, Status = m.Status, Detail = detail });
        try { await db.SaveChangesAsync(ct); }
        catch (DbUpdateConcurrencyException) { /* canceled meanwhile: nothing to do */ }
    }

    private static object Why(string reason) =>
        Note.Key("mwhy." + (reason is Governor.Reasons.SessionDisabled or Governor.Reasons.SessionRemoved ? reason : Governor.Reasons.SessionDown));

    // ---- helpers ------------------------------------------------------------------------------------------

    private async Task<Rules> RulesAsync(ZapHubDb db, Guid tenantId, DateTime now, CancellationToken ct)
    {
        if (rules.TryGetValue(tenantId, out var cached) && cached.Until > now && cached.Until - now <= TimeSpan.FromSeconds(2)) return cached;
        var settings = await MessagingSettingsService.LoadAsync(db, tenantId, ct);
        var zone = await db.Tenants.Where(t => t.Id == tenantId).Select(t => t.TimeZone).FirstOrDefaultAsync(ct) ?? Tenancy.Tenant.DefaultTimeZone;
        var fresh = new Rules(settings, TimeZoneInfo.FindSystemTimeZoneById(zone), now + TimeSpan.FromSeconds(2));
        rules[tenantId] = fresh;
        return fresh;
    }

    /// <summary>Leasing, renewing, sweeping: set-based work on every tenant's outbox rows (ADR 0003's worker scope).</summary>
    private AsyncServiceScope WorkerScope(out ZapHubDb db)
    {
        var scope = scopes.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<TenantContext>().UseWorkerScope();
        db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        return scope;
    }

    /// <summary>One message's decision and send act for its tenant, as a request of that tenant would.</summary>
    private AsyncServiceScope TenantScope(Guid tenantId, out ZapHubDb db)
    {
        var scope = scopes.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<TenantContext>().Set(tenantId, null);
        db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        return scope;
    }

    /// <summary>The outbox's table and column names as each provider's migrations created them, quoted for raw SQL.</summary>
    private sealed record SqlNames(string Table, string Id, string Status, string DueAt, string LeaseOwner, string LeaseUntil, string SessionId, string Version)
    {
        private static SqlNames? cached;

        public static SqlNames For(ZapHubDb db)
        {
            if (cached is { } c) return c;
            var entity = db.Model.FindEntityType(typeof(Message))!;
            var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
            string Q(string name) => "\"" + name + "\"";
            string Col(string property) => Q(entity.FindProperty(property)!.GetColumnName(table)!);
            return cached = new SqlNames(Q(table.Name), Col(nameof(Message.Id)), Col(nameof(Message.Status)), Col(nameof(Message.DueAt)),
                Col(nameof(Message.LeaseOwner)), Col(nameof(Message.LeaseUntil)), Col(nameof(Message.SessionId)), Col(nameof(Message.Version)));
        }
    }
}
