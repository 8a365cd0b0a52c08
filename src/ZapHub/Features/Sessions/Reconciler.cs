using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ZapHub.Data;
using ZapHub.Gateways;
using ZapHub.Platform;

namespace ZapHub.Features.Sessions;

/// <summary>
/// Webhooks are the primary signal; this loop corrects what they miss. It reads the gateway's view of sessions in
/// transitional states or silent for too long, ends attempts stuck in Starting, and re-creates instances a
/// restarted gateway forgot.
/// </summary>
public sealed class Reconciler(IServiceScopeFactory scopes, TimeProvider time, IOptions<SessionOptions> options, ILogger<Reconciler> logger,
    IOptions<NodeOptions> node, SessionNotifier notifier) : BackgroundService
{
    private static readonly SessionState[] Transitional = [SessionState.Starting, SessionState.AwaitingScan, SessionState.Pairing];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!node.Value.RunsWorkers) return;
        using var timer = new PeriodicTimer(options.Value.ReconcileInterval, time);
        do
        {
            try { await RunOnceAsync(stoppingToken); }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested) { logger.LogError(ex, "Reconciliation pass failed"); }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public async Task<int> RunOnceAsync(CancellationToken ct)
    {
        var o = options.Value;
        var now = time.UtcNow();
        var transitionalBefore = now - o.TransitionalCheckInterval;
        var silentBefore = now - o.SilenceThreshold;
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
        foreach (var id in due)
        {
            try { await ReconcileAsync(id, now, ct); }
            catch (DbUpdateConcurrencyException) { /* changed meanwhile; looked at again next pass */ }
            catch (Exception ex) when (!ct.IsCancellationRequested) { logger.LogWarning(ex, "Reconciling session {SessionId} failed", id); }
        }
        return due.Count;
    }

    private async Task ReconcileAsync(Guid sessionId, DateTime now, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        var session = await db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).FirstAsync(s => s.Id == sessionId, ct);
        // Each session is worked on in its own tenant's scope, like a request would be.
        scope.ServiceProvider.GetRequiredService<TenantContext>().Set(session.TenantId, null);
        var gateway = await db.Gateways.FirstAsync(g => g.Id == session.GatewayId, ct);
        var sessions = scope.ServiceProvider.GetRequiredService<SessionService>();
        var gatewayClient = scope.ServiceProvider.GetRequiredService<GatewayClients>().For(gateway);
        session.LastCheckedAt = now;

        if (session.State == SessionState.Starting && session.StartingSince < now - options.Value.StartingTimeout)
        {
            // Failed is saved first: the gateway's own logout/close webhooks that follow must find it already decided.
            Add(db, SessionLifecycle.Apply(session, new StateSignal("timeout", SessionState.Failed, session.RawState ?? "", SessionReasons.StartTimeout), Causes.Timeout, now));
            session.LastError = $"The gateway did not start the connection within {options.Value.StartingTimeout.TotalSeconds:0} s. Try again; if it repeats, tell the operator.";
            await db.SaveChangesAsync(ct);
            notifier.Publish(session.TenantId, session.Id);
            try { await sessions.CloseOnGatewayAsync(session, gateway, ct); }
            catch (GatewayException ex) { logger.LogInformation("Closing timed-out session {SessionId}: {Error}", sessionId, ex.Message); }
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
            session.LastError = ex.Message;
            await db.SaveChangesAsync(ct);
            return;
        }

        var lost = !observed.Exists
            || (session.State == SessionState.Connected && observed.State?.State == SessionState.Disconnected && scope.ServiceProvider.GetRequiredService<GatewayClients>().ProviderOf(gateway).LostSessionsReadClosed);
        if (lost)
        {
            // A restarted gateway that lost its data lost the login too: re-create the instance and ask for a new scan.
            await sessions.ReprovisionAsync(session, gateway, ct);
            Add(db, SessionLifecycle.Apply(session, new StateSignal("reconcile", SessionState.Disconnected, "missing", SessionReasons.GatewayLostInstance), Causes.Reconciler, now));
            session.LastError = "The gateway restarted and forgot this number; connect it again.";
        }
        else if (observed.State is { } state)
        {
            var change = SessionLifecycle.Apply(session, state with { RawEvent = "reconcile" }, Causes.Reconciler, now);
            Add(db, change);
            if (change is not null && SessionLifecycle.IsDrop(change) && await Breaker.TripIfLoopingAsync(db, session, now, options.Value, ct))
                try { await sessions.CloseOnGatewayAsync(session, gateway, ct); } catch (GatewayException) { }
            // The gateway answered: an earlier "unreachable" no longer holds.
            if (session.LastError is { } error && (error.StartsWith("The gateway could not be reached", StringComparison.Ordinal) || error.StartsWith("The gateway did not answer", StringComparison.Ordinal)))
                session.LastError = null;
        }
        await db.SaveChangesAsync(ct);
        notifier.Publish(session.TenantId, session.Id);
    }

    private static void Add(ZapHubDb db, SessionEvent? change)
    {
        if (change is not null) db.SessionEvents.Add(change);
    }
}
