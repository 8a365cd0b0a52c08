using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ZapHub.Data;
using ZapHub.Features.Gateways;
using ZapHub.Features.Messages;
using ZapHub.Gateways;
using ZapHub.Platform;

namespace ZapHub.Features.Sessions;

/// <summary>
/// Applies stored gateway events to sessions, oldest first, so each session sees its events in the order they
/// arrived. One bad event is marked with its error and skipped; it never stops the loop.
/// </summary>
public sealed class SignalProcessor(IServiceScopeFactory scopes, TimeProvider time, IOptions<SessionOptions> options, ILogger<SignalProcessor> logger,
    IOptions<NodeOptions> node, SessionNotifier notifier, WriteGate writeGate, GatewayClients clients, Reconciler reconciler)
    : BackgroundService
{
    private const int BatchSize = 500;
    private static readonly TimeSpan HealthMarkInterval = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan PendingReceiptInterval = TimeSpan.FromSeconds(5);
    private readonly SemaphoreSlim wake = new(0);
    private readonly BatchPace pace = new(TimeSpan.FromMilliseconds(20));
    private readonly ConcurrentQueue<RecordedSend> recorded = new();
    private DateTime pendingCheckedAt;

    public void Wake()
    {
        if (wake.CurrentCount == 0) wake.Release();
    }

    /// <summary>Sends were recorded: receipts that raced ahead of them can now find their message.</summary>
    public void SendsRecorded(IEnumerable<RecordedSend> sends)
    {
        foreach (var send in sends) recorded.Enqueue(send);
        Wake();
    }

    /// <summary>
    /// Receipts kept for a message not known yet are looked up for the sends this node just recorded, and all of them
    /// every few seconds (another node may have recorded their sends) — never re-read per batch: during a burst of
    /// receipts for messages typed on the phone, that table grows and re-reading it would cost more than the batch.
    /// Stale ones are dropped on the same few-seconds beat.
    /// </summary>
    private IReadOnlyList<RecordedSend>? PendingReceiptsToCheck(DateTime now, out bool sweep)
    {
        var fresh = new List<RecordedSend>();
        while (recorded.TryDequeue(out var send)) fresh.Add(send);
        sweep = now - pendingCheckedAt >= PendingReceiptInterval;
        if (sweep) pendingCheckedAt = now;
        return sweep ? null : fresh;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!node.Value.RunsWorkers) return;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                while (await ProcessBatchAsync(stoppingToken) == BatchSize) { }
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

    public async Task<int> ProcessBatchAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<TenantContext>().UsePlatformScope();
        var db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        // PostgreSQL: one transaction holding the processor's lock. SQLite: reads outside any transaction, on purpose (a
        // transaction that reads and then writes fails at once, not after a wait, when another writer committed in
        // between); its writes get one transaction of their own below.
        await using var transaction = db is PostgresZapHubDb ? await db.Database.BeginTransactionAsync(ct) : null;
        if (transaction is not null && !await IsTheProcessorAsync(db, ct)) return 0;

        var now = time.UtcNow();
        var toCheck = PendingReceiptsToCheck(now, out var dropStale);
        if (toCheck is not { Count: 0 }) await MessageSignals.ApplyPendingAsync(db, now, toCheck, ct);
        // Untracked, and marked processed with one statement: a batch of events is read once and never rewritten row by row.
        var events = await db.GatewayEvents.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking()
            .Where(e => e.ProcessedAt == null).OrderBy(e => e.Id).Take(BatchSize).ToListAsync(ct);
        if (events.Count == 0)
        {
            if (!db.ChangeTracker.HasChanges() && !dropStale) return 0;
            using (await writeGate.EnterAsync(db, ct))
            {
                await db.SaveChangesAsync(ct);
                if (dropStale) await MessageSignals.DropStaleReceiptsAsync(db, now, ct);
                if (transaction is not null) await transaction.CommitAsync(ct);
            }
            return 0;
        }
        var sessionIds = events.Select(e => e.SessionId).Distinct().ToList();
        var sessions = await db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(s => sessionIds.Contains(s.Id)).ToDictionaryAsync(s => s.Id, ct);
        var gatewayIds = sessions.Values.Select(s => s.GatewayId).Distinct().ToList();
        var gateways = await db.Gateways.Where(g => gatewayIds.Contains(g.Id)).ToDictionaryAsync(g => g.Id, ct);
        var toClose = new HashSet<Guid>();
        var reconnected = new HashSet<Guid>();
        var errors = new Dictionary<long, string>();
        void Fail(GatewayEvent e, Exception ex) => errors[e.Id] = ex.Message.Length > 500 ? ex.Message[..500] : ex.Message;

        // Parse everything first, so the messages and contacts the batch touches are loaded in a few queries.
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
                logger.LogWarning(ex, "Gateway event {EventId} of session {SessionId} could not be read", e.Id, e.SessionId);
            }
        }
        var messages = new MessageSignals(db, now);
        await messages.PrepareAsync(parsed.Where(p => p.Session is not null).SelectMany(p => p.Signals.Select(s => (p.Session!, s))).ToList(), ct);

        foreach (var (e, session, signals) in parsed)
        {
            if (session is null) continue;
            try
            {
                // Health marks, written at most every few seconds: during a burst of receipts, rewriting the number's row for
                // each one would contend with the dispatcher, which takes the same row for every send.
                if (session.LastEventAt is not { } seen || e.ReceivedAt - seen > HealthMarkInterval) session.LastEventAt = e.ReceivedAt;
                var provider = clients.ProviderOf(gateways[session.GatewayId]);
                foreach (var signal in signals)
                {
                    var wasConnected = session.State == SessionState.Connected;
                    if (await ApplyAsync(db, session, provider, signal, messages, e.Id, now, ct)) toClose.Add(session.Id);
                    if (!wasConnected && session.State == SessionState.Connected) reconnected.Add(session.Id);
                }
            }
            catch (Exception ex)
            {
                Fail(e, ex);
                logger.LogWarning(ex, "Gateway event {EventId} of session {SessionId} could not be applied", e.Id, e.SessionId);
            }
        }

        using (await writeGate.EnterAsync(db, ct))
        {
            await using var writes = transaction is null ? await db.Database.BeginTransactionAsync(ct) : null;
            await db.SaveChangesAsync(ct);
            if (dropStale) await MessageSignals.DropStaleReceiptsAsync(db, now, ct);
            var done = events.Select(e => e.Id).Where(id => !errors.ContainsKey(id)).ToList();
            var inbox = db.GatewayEvents.IgnoreQueryFilters([ZapHubDb.TenantFilter]);
            await inbox.Where(e => done.Contains(e.Id)).ExecuteUpdateAsync(u => u.SetProperty(e => e.ProcessedAt, now), ct);
            foreach (var (id, error) in errors)
                await inbox.Where(e => e.Id == id).ExecuteUpdateAsync(u => u.SetProperty(e => e.ProcessedAt, now).SetProperty(e => e.Error, error), ct);
            if (reconnected.Count > 0) await HeldMessages.ReleaseAsync(db, reconnected, now, ct);
            await (transaction ?? writes)!.CommitAsync(ct);
        }
        if (reconnected.Count > 0) scope.ServiceProvider.GetRequiredService<MessageDispatcher>().Wake();
        // A number linked where no webhook names its phone (a WPPConnect QR login): the reconciler asks the gateway.
        foreach (var id in reconnected.Where(id => sessions[id].Phone is null)) reconciler.CheckSoon(id);
        foreach (var session in sessions.Values) notifier.Publish(session.TenantId, session.Id);

        // Attempts ZapHub ended (too many QR codes, a reconnect loop) are also ended on the gateway, best effort, and what that
        // left is recorded.
        if (toClose.Count == 0) return events.Count;
        foreach (var id in toClose)
        {
            var session = sessions[id];
            try { (await scope.ServiceProvider.GetRequiredService<SessionService>().CloseOnGatewayAsync(session, gateways[session.GatewayId], ct)).ApplyTo(session); }
            catch (GatewayException ex) { logger.LogWarning("Could not close session {SessionId} on its gateway: {Error}", id, ex.Message); }
        }
        try
        {
            using (await writeGate.EnterAsync(db, ct)) await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateConcurrencyException) { /* changed meanwhile: the reconciler closes what is still open */ }
        return events.Count;
    }

    /// <summary>
    /// Events must be applied in order, so one node at a time processes the inbox: the batch's transaction takes an
    /// advisory lock that the other nodes' batches then skip. (SQLite has a single node.)
    /// </summary>
    private static async Task<bool> IsTheProcessorAsync(ZapHubDb db, CancellationToken ct) =>
        await db.Database.SqlQueryRaw<bool>("SELECT pg_try_advisory_xact_lock(7420001) AS \"Value\"").SingleAsync(ct);


    /// <summary>Returns true when the attempt must also be closed on the gateway.</summary>
    private async Task<bool> ApplyAsync(ZapHubDb db, Session session, GatewayProvider provider, GatewaySignal signal, MessageSignals messages, long eventId, DateTime now, CancellationToken ct)
    {
        var cause = $"{Causes.Webhook}:{signal.RawEvent}";
        switch (signal)
        {
            case StateSignal state:
                var change = SessionLifecycle.Apply(session, state, cause, now, eventId);
                if (change is null) return false;
                db.SessionEvents.Add(change);
                return SessionLifecycle.IsDrop(change) && await Breaker.TripIfLoopingAsync(db, session, now, options.Value, ct);
            case QrSignal qr:
                if (SessionLifecycle.ApplyQr(session, qr, provider.QrLifetime, cause, now, eventId) is { } shown) db.SessionEvents.Add(shown);
                if (session.State != SessionState.AwaitingScan || session.QrRefreshCount <= options.Value.MaxQrCodes) return false;
                if (SessionLifecycle.Apply(session, new StateSignal(qr.RawEvent, SessionState.Disconnected, "qr_limit", SessionReasons.QrExpired), Causes.Timeout, now, eventId) is { } ended)
                    db.SessionEvents.Add(ended);
                return true;
            case AckSignal ack:
                if (session.LastAckAt is not { } acked || now - acked > HealthMarkInterval) session.LastAckAt = now;
                messages.Apply(session, ack);
                return false;
            case InboundSignal inbound:
                messages.Apply(session, inbound);
                return false;
            default:
                return false;
        }
    }
}

/// <summary>Reconnect loops are cut: N drops of a connected number within a window → Failed, not retried forever.</summary>
public static class Breaker
{
    public static async Task<bool> TripIfLoopingAsync(ZapHubDb db, Session session, DateTime now, SessionOptions options, CancellationToken ct)
    {
        var since = now - options.FlapWindow;
        var stored = await db.SessionEvents.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking()
            .Where(e => e.SessionId == session.Id && e.At >= since && e.FromState == SessionState.Connected)
            .ToListAsync(ct);
        var pending = db.ChangeTracker.Entries<SessionEvent>().Where(x => x.State == EntityState.Added).Select(x => x.Entity)
            .Where(e => e.SessionId == session.Id && e.At >= since && e.FromState == SessionState.Connected);
        var drops = stored.Concat(pending).Count(SessionLifecycle.IsDrop);
        if (drops < options.FlapLimit) return false;
        var tripped = SessionLifecycle.Apply(session, new StateSignal("breaker", SessionState.Failed, session.RawState ?? "", SessionReasons.ReconnectLoop), Causes.Breaker, now);
        if (tripped is null) return false;
        db.SessionEvents.Add(tripped);
        session.LastError = $"The connection dropped {drops} times in {options.FlapWindow.TotalMinutes:0} minutes; ZapHub stopped reconnecting. Check the phone, then connect again.";
        return true;
    }
}
