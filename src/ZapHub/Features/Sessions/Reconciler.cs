using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ZapHub.Data;
using ZapHub.Features.Messages;
using ZapHub.Gateways;
using ZapHub.Platform;

namespace ZapHub.Features.Sessions;

/// <summary>
/// Webhooks are the primary signal; this loop corrects what they miss. It reads the gateway's view of sessions in
/// transitional states or silent for too long, ends attempts past their deadline, re-creates instances a restarted
/// gateway forgot, reads the phone of a number linked where no webhook names it, and looks at once at a number a
/// gateway answered "not connected" for.
/// </summary>
public sealed class Reconciler(IServiceScopeFactory scopes, TimeProvider time, IOptions<SessionOptions> options, ILogger<Reconciler> logger,
    IOptions<NodeOptions> node, SessionNotifier notifier, Platform.Telemetry.ZapHubMetrics metrics) : BackgroundService
{
    private static readonly SessionState[] Transitional = [SessionState.Starting, SessionState.AwaitingScan, SessionState.Pairing];
    private readonly ConcurrentDictionary<Guid, byte> soon = new();
    private readonly SemaphoreSlim wake = new(0);

    /// <summary>Looks at this session in the next pass, which starts now rather than at the next tick.</summary>
    public void CheckSoon(Guid sessionId)
    {
        soon[sessionId] = 0;
        if (wake.CurrentCount == 0) wake.Release();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!node.Value.RunsWorkers) return;
        using var timer = new PeriodicTimer(options.Value.ReconcileInterval, time);
        Task<bool>? tick = null;
        Task? woken = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try { await RunOnceAsync(stoppingToken); }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested) { logger.LogError(ex, "Reconciliation pass failed"); }
            try
            {
                // Both waits outlive a pass that the other one started: a tick or a wake is never lost.
                tick ??= timer.WaitForNextTickAsync(stoppingToken).AsTask();
                woken ??= wake.WaitAsync(stoppingToken);
                if (await Task.WhenAny(tick, woken) == woken) woken = null;
                else if (!await tick) return;
                else tick = null;
            }
            catch (OperationCanceledException) { return; }
        }
    }

    public async Task<int> RunOnceAsync(CancellationToken ct)
    {
        var started = time.GetTimestamp();
        var o = options.Value;
        var now = time.UtcNow();
        var transitionalBefore = now - o.TransitionalCheckInterval;
        var silentBefore = now - o.SilenceThreshold;
        var asked = soon.Keys.ToList();
        foreach (var id in asked) soon.TryRemove(id, out _);
        List<Guid> due;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
            due = await db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking()
                .Where(s => s.Enabled && s.ProvisionedAt != null)
                .Where(s => (Transitional.Contains(s.State) && (s.LastCheckedAt == null || s.LastCheckedAt < transitionalBefore))
                         || (s.State == SessionState.Connected && (s.LastEventAt ?? s.ConnectedAt) < silentBefore && (s.LastCheckedAt == null || s.LastCheckedAt < silentBefore)))
                .OrderBy(s => s.LastCheckedAt).Select(s => s.Id).Take(500).ToListAsync(ct);
        }
        var work = asked.Union(due).ToList();
        foreach (var id in work)
        {
            try { await ReconcileAsync(id, now, ct); }
            catch (DbUpdateConcurrencyException) { /* changed meanwhile; looked at again next pass */ }
            catch (Exception ex) when (!ct.IsCancellationRequested) { logger.LogWarning(ex, "Reconciling session {SessionId} failed", id); }
        }
        metrics.ReconcilerCycle(time.GetElapsedTime(started));
        return work.Count;
    }

    private async Task ReconcileAsync(Guid sessionId, DateTime now, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        // Deleted meanwhile, switched off or never provisioned: nothing to compare.
        var session = await db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).FirstOrDefaultAsync(s => s.Id == sessionId, ct);
        if (session is not { Enabled: true, ProvisionedAt: not null }) return;
        // Each session is worked on in its own tenant's scope, like a request would be.
        scope.ServiceProvider.GetRequiredService<TenantContext>().Set(session.TenantId, null);
        var gateway = await db.Gateways.FirstAsync(g => g.Id == session.GatewayId, ct);
        using var logScope = logger.BeginScope(new Dictionary<string, object> { ["TenantId"] = session.TenantId, ["SessionId"] = session.Id, ["GatewayId"] = gateway.Id });
        var sessions = scope.ServiceProvider.GetRequiredService<SessionService>();
        var gateways = scope.ServiceProvider.GetRequiredService<GatewayClients>();
        var gatewayClient = gateways.For(gateway);
        session.LastCheckedAt = now;

        if (session.State == SessionState.Starting && session.StartingSince < now - options.Value.StartingTimeout)
        {
            // The attempt is ended on the gateway first, so that Failed and what the stop changed (a new name, say) are saved
            // together: a retry that follows at once must not meet the old name. Webhooks the stop itself causes may land
            // first; the save then re-reads the row and decides Failed on top of them.
            var change = StopChange.None;
            try { change = await sessions.CloseOnGatewayAsync(session, gateway, ct); }
            catch (GatewayException ex) { logger.LogInformation("Closing timed-out session {SessionId}: {Error}", sessionId, ex.Message); }
            await sessions.SaveAsync(session, () =>
            {
                change.ApplyTo(session);
                session.LastCheckedAt = now;
                if (session.State == SessionState.Connected) return;
                Add(db, SessionLifecycle.Apply(session, new StateSignal("timeout", SessionState.Failed, session.RawState ?? "", SessionReasons.StartTimeout), Causes.Timeout, now));
                session.LastError = Note.Of("start_timeout", ("seconds", Math.Round(options.Value.StartingTimeout.TotalSeconds))).Store();
            }, ct);
            return;
        }

        ObservedState observed;
        try
        {
            observed = await gatewayClient.GetStateAsync(sessions.TargetOf(session), ct);
        }
        catch (GatewayException ex)
        {
            // The gateway is down: say so on the session, change nothing else, look again next pass.
            session.LastError = GatewayFailureOutcome.NoteOf(ex);
            await db.SaveChangesAsync(ct);
            return;
        }

        var lost = !observed.Exists
            || (session.State == SessionState.Connected && observed.State?.State == SessionState.Disconnected && gateways.ProviderOf(gateway).LostSessionsReadClosed);
        var reconnected = false;
        if (lost)
        {
            // A restarted gateway that lost its data lost the login too: re-create the instance and ask for a new scan.
            await sessions.ReprovisionAsync(session, gateway, ct);
            Add(db, SessionLifecycle.Apply(session, new StateSignal("reconcile", SessionState.Disconnected, "missing", SessionReasons.GatewayLostInstance), Causes.Reconciler, now));
            session.LastError = Note.Of("gateway_forgot").Store();
        }
        else if (observed.State is { } state)
        {
            var wasConnected = session.State == SessionState.Connected;
            var change = SessionLifecycle.Apply(session, state with { RawEvent = "reconcile" }, Causes.Reconciler, now);
            Add(db, change);
            reconnected = !wasConnected && session.State == SessionState.Connected;
            if (change is not null && SessionLifecycle.IsDrop(change) && await Breaker.TripIfLoopingAsync(db, session, now, options.Value, ct))
                try { (await sessions.CloseOnGatewayAsync(session, gateway, ct)).ApplyTo(session); } catch (GatewayException) { }
            // The gateway answered: an earlier "unreachable" no longer holds.
            if (GatewayFailureOutcome.IsUnreachableNote(session.LastError)) session.LastError = null;
        }
        if (session.State == SessionState.Connected && session.Phone is null)
        {
            // Linked by QR where no webhook names the account (WPPConnect): ask the gateway once.
            try
            {
                if (await gatewayClient.ReadAccountAsync(sessions.TargetOf(session), ct) is { } account)
                    (session.Phone, session.ProfileName, session.LinkedAt) = (account.Phone, account.ProfileName ?? session.ProfileName, session.LinkedAt ?? now);
            }
            catch (GatewayException ex) { logger.LogInformation("Reading the phone of session {SessionId}: {Error}", sessionId, ex.Message); }
        }
        await db.SaveChangesAsync(ct);
        if (reconnected && await HeldMessages.ReleaseAsync(db, [session.Id], now, ct) > 0) scope.ServiceProvider.GetRequiredService<MessageDispatcher>().Wake();
        notifier.Publish(session.TenantId, session.Id);
    }

    private static void Add(ZapHubDb db, SessionEvent? change)
    {
        if (change is not null) db.SessionEvents.Add(change);
    }
}
