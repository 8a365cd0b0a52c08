using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ZapHub.Data;
using ZapHub.Features.Gateways;
using ZapHub.Features.Sessions;
using ZapHub.Gateways;
using ZapHub.Platform;
using ZapHub.Platform.Cluster;

namespace ZapHub.Features.Messages;

/// <summary>
/// The outbox's worker: its lanes. It takes due messages through <see cref="OutboxLeases"/>, runs one lane per number
/// so a number sends one message at a time, asks the <see cref="Governor"/> whether the number may send, sends, and
/// records each step through the <see cref="DispatchLedger"/>; what fails is judged by <see cref="SendPolicy"/>, what
/// cannot go now is handed to <see cref="MessageWaits"/>. A message is marked Sending — durably — before the gateway is
/// called: after a crash, exactly those are in doubt.
/// </summary>
public sealed class MessageDispatcher(
    IServiceScopeFactory scopes, TimeProvider time, IOptions<MessagingOptions> options, IOptions<NodeOptions> nodeOptions,
    NodeIdentity node, OutboxLeases leases, SendRules rules, MessageWaits waits, DispatchLedger ledger, GatewayClients clients, Platform.Telemetry.ZapHubMetrics metrics,
    ILogger<MessageDispatcher> logger) : BackgroundService
{
    /// <summary>The slot a starting send holds: longer than any gateway call, freed (plus the gap) when the call ends.</summary>
    private static readonly TimeSpan SlotLock = TimeSpan.FromMinutes(3);

    private sealed class Lane
    {
        public readonly Queue<Message> Pending = new();
        public Task? Runner;
    }

    private readonly SemaphoreSlim wake = new(0);
    private readonly Lock sync = new();
    private readonly Dictionary<Guid, Lane> lanes = [];
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
    public void Forget(Guid tenantId) => rules.Forget(tenantId);

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
                    if (await leases.RenewAsync(now, stoppingToken)) Wake();
                    lastRenew = now;
                }
                if (now - lastSweep >= o.LeaseDuration / 3)
                {
                    if (await leases.SweepAsync(now, stoppingToken)) Wake();
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
        await leases.ReleaseAllAsync(cancellationToken);
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
        var messages = await leases.TakeAsync(now, room, full, ct);
        // Everything due was taken and no accepted message was sent to the queue meanwhile: new ones may skip it.
        lock (sync)
            if (messages.Count < room && full.Count == 0 && marks == backlogMarks) backlog = false;
        if (messages.Count == 0) return;
        lock (sync)
        {
            leased += messages.Count;
            Enqueue(messages, ct);
        }
        if (messages.Count == room) Wake();
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
                await leases.ReleaseAsync(m.Id, time.UtcNow());
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
            var tenantRules = await rules.ForAsync(db, m.TenantId, now, ct);
            // The number and its gateway server in one round trip.
            var target = round == 0 && known is not null && known.Session.Id == m.SessionId && now - known.ReadAt < TargetReuse ? known
                : m.SessionId is { } sessionId
                ? await db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking().Where(s => s.Id == sessionId)
                    .Select(s => new Target(s, db.Gateways.First(g => g.Id == s.GatewayId), now)).FirstOrDefaultAsync(ct)
                : null;
            var session = target?.Session;
            var verdict = session is null ? new Verdict.Unavailable(Governor.Reasons.SessionRemoved)
                // A gateway that does not answer gets no sends (they would only fail and count attempts): the message waits
                // like one for a disconnected number, or moves to another number where the rules allow.
                : target!.Gateway.UnreachableSince is not null ? new Verdict.Unavailable(Governor.Reasons.GatewayDown)
                : Governor.Decide(session, tenantRules.Settings, tenantRules.Zone, now, Random.Shared);

            switch (verdict)
            {
                case Verdict.Unavailable unavailable:
                    if (await waits.RerouteOrHoldAsync(db, m, unavailable.Reason, tenantRules, now, ct)) Wake();
                    return (null, null);
                case Verdict.Wait wait:
                    await waits.DeferAsync(db, m.Id, wait.Until, wait.Reason, tenantRules, now, ct);
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
                            await waits.DeferAsync(db, m.Id, busyUntil!.Value, Governor.Reasons.SendInFlight, tenantRules, now, ct);
                            return (null, target);
                        case BeginResult.LimitReached when round < 3:
                            continue;
                        case BeginResult.LimitReached:
                            await waits.DeferAsync(db, m.Id, now + TimeSpan.FromMinutes(1), Governor.Reasons.DailyLimit, tenantRules, now, ct);
                            return (null, null);
                    }
                    return (await SendAsync(db, m, session, target!.Gateway, go, today, tenantRules, scope.ServiceProvider.GetRequiredService<SessionService>()), target);
            }
        }
    }

    private async Task<Ended> SendAsync(ZapHubDb db, Message m, Session session, Gateway gateway, Verdict.Go go, string today, TenantSendRules tenantRules, SessionService sessions)
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
            outcome = SendPolicy.Classify(ex, attempt, m.HeldSince, tenantRules.Settings, options.Value, time.UtcNow(), Random.Shared);
            // "Not connected", whatever ZapHub believed: the number leaves Connected now, so its other messages are held too.
            if (GatewayFailureOutcome.Of(ex).NumberDown) await sessions.ReportNotConnectedAsync(session.Id, ct);
        }
        catch (Exception ex)
        {
            logger.LogError(ex, "Sending message {MessageId} failed unexpectedly", m.Id);
            outcome = SendPolicy.Classify(new GatewayException(GatewayFailure.Transient, "ZapHub could not complete the call: " + ex.Message, null, ex),
                attempt, m.HeldSince, tenantRules.Settings, options.Value, time.UtcNow(), Random.Shared);
        }

        var ended = time.UtcNow();
        var took = time.GetElapsedTime(started).TotalMilliseconds;
        var result = SendPolicy.Name(outcome);
        metrics.SendAttempt(result, outcome.Sent ? null : outcome.Category);
        if (!outcome.Sent)
            logger.Log(outcome.Retry ? LogLevel.Information : LogLevel.Warning, "Message {MessageId} attempt {Attempt} on number {SessionId} via gateway {GatewayId}: {Result} ({Category}): {Reason}",
                m.Id, attempt, session.Id, gateway.Id, result, outcome.Category, outcome.Reason);
        var detail = SendPolicy.Detail(outcome, attempt, session.DisplayName, took, tenantRules.Settings.HoldMinutes);
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

    // ---- helpers ------------------------------------------------------------------------------------------

    /// <summary>One message's decision and send act for its tenant, as a request of that tenant would.</summary>
    private AsyncServiceScope TenantScope(Guid tenantId, out ZapHubDb db)
    {
        var scope = scopes.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<TenantContext>().Set(tenantId, null);
        db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        return scope;
    }
}
