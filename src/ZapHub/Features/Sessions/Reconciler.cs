using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ZapHub.Data;
using ZapHub.Features.Messages;
using ZapHub.Gateways;
using ZapHub.Platform;
using ZapHub.Platform.Cluster;
using ZapHub.Features.Gateways;

namespace ZapHub.Features.Sessions;

/// <summary>
/// Webhooks are the primary signal; this loop corrects what they miss. It reads the gateway's view of sessions in
/// transitional states or silent for too long, ends attempts past their deadline, re-creates instances a restarted
/// gateway forgot, reads the phone of a number linked where no webhook names it, and looks at once at a number a
/// gateway answered "not connected" for.
/// <para>
/// It works gateway by gateway (the gateways of the <see cref="WorkPartitions.Reconcile"/> partitions this node holds):
/// one query finds what is due, one call per gateway lists its instances where the provider can, and the numbers whose
/// listed state agrees with ZapHub's are marked checked with one statement. Only a number that disagrees, is missing,
/// timed out or lacks its phone is worked on alone. A gateway that does not answer is marked unreachable, its due
/// numbers say so, and it is probed once per pass instead of once per number.
/// </para>
/// </summary>
public sealed class Reconciler(IServiceScopeFactory scopes, TimeProvider time, IOptions<SessionOptions> options, ILogger<Reconciler> logger,
    IOptions<NodeOptions> node, SessionNotifier notifier, Platform.Telemetry.ZapHubMetrics metrics, PartitionLeases leases) : BackgroundService
{
    private static readonly SessionState[] Transitional = [SessionState.Starting, SessionState.AwaitingScan, SessionState.Pairing];

    /// <summary>Gateways worked on at once, and per-number reads at once on a gateway that has no list call.</summary>
    private const int GatewaysAtOnce = 4, ReadsAtOnce = 4;

    /// <summary>A gateway without a list call whose first reads all fail is taken as unreachable after this many.</summary>
    private const int FailedReadsForUnreachable = 3;

    private readonly ConcurrentDictionary<Guid, byte> soon = new();
    private readonly SemaphoreSlim wake = new(0);

    /// <summary>What a pass needs of a due number, read in one query.</summary>
    private sealed record Due(Guid Id, Guid TenantId, Guid GatewayId, string InstanceName, SessionState State, DateTime? StartingSince, bool HasPhone, string? LastError);

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

    /// <summary>One pass; returns how many numbers it looked at.</summary>
    public async Task<int> RunOnceAsync(CancellationToken ct)
    {
        var started = time.GetTimestamp();
        var o = options.Value;
        var now = time.UtcNow();
        var asked = soon.Keys.ToList();
        foreach (var id in asked) soon.TryRemove(id, out _);
        // Numbers asked for by this node (a send answered "not connected") are read here, whoever holds their gateway.
        foreach (var id in asked) await SafelyAsync(id, () => ReconcileAsync(id, now, null, ct), ct);

        var held = leases.Held(WorkPartitions.Reconcile);
        List<Gateway> gateways;
        List<Due> due;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
            gateways = (await db.Gateways.AsNoTracking().ToListAsync(ct)).Where(g => held.Contains(WorkPartitions.Of(g.Id))).ToList();
            var ids = gateways.Select(g => g.Id).ToList();
            var transitionalBefore = now - o.TransitionalCheckInterval;
            var silentBefore = now - o.SilenceThreshold;
            due = ids.Count == 0 ? [] : await db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking()
                .Where(s => s.Enabled && s.ProvisionedAt != null && ids.Contains(s.GatewayId))
                .Where(s => (Transitional.Contains(s.State) && (s.LastCheckedAt == null || s.LastCheckedAt < transitionalBefore))
                         || (s.State == SessionState.Connected && (s.LastEventAt ?? s.ConnectedAt) < silentBefore && (s.LastCheckedAt == null || s.LastCheckedAt < silentBefore)))
                .OrderBy(s => s.LastCheckedAt).Take(o.ReconcileBatch)
                .Select(s => new Due(s.Id, s.TenantId, s.GatewayId, s.InstanceName, s.State, s.StartingSince, s.Phone != null, s.LastError))
                .ToListAsync(ct);
        }
        var byGateway = due.Where(d => !asked.Contains(d.Id)).ToLookup(d => d.GatewayId);
        await Parallel.ForEachAsync(gateways, new ParallelOptions { MaxDegreeOfParallelism = GatewaysAtOnce, CancellationToken = ct },
            async (gateway, token) =>
            {
                try { await ReconcileGatewayAsync(gateway, byGateway[gateway.Id].ToList(), now, token); }
                catch (Exception ex) when (!token.IsCancellationRequested) { logger.LogWarning(ex, "Reconciling gateway {GatewayId} failed", gateway.Id); }
            });
        metrics.ReconcilerCycle(time.GetElapsedTime(started));
        return asked.Count + due.Count;
    }

    private async Task ReconcileGatewayAsync(Gateway gateway, List<Due> due, DateTime now, CancellationToken ct)
    {
        // A quiet gateway with nothing due is still probed while it is marked unreachable, so it comes back on its own.
        if (due.Count == 0 && gateway.UnreachableSince is null) return;
        await using var scope = scopes.CreateAsyncScope();
        var clients = scope.ServiceProvider.GetRequiredService<GatewayClients>();
        var client = clients.For(gateway);
        var timedOut = due.Where(d => d.State == SessionState.Starting && d.StartingSince < now - options.Value.StartingTimeout).ToList();
        var rest = due.Except(timedOut).ToList();
        var agreed = new List<Due>();
        var alone = new List<(Due Number, ObservedState? Seen)>(timedOut.Select(d => (d, (ObservedState?)null)));
        GatewayException? down = null;

        IReadOnlyDictionary<string, ObservedState>? listed = null;
        try { listed = await client.ListInstancesAsync(ct); }
        catch (GatewayException ex) { down = ex; }
        if (listed is not null)
            foreach (var d in rest)
                if (listed.TryGetValue(d.InstanceName, out var seen) && Agrees(d, seen)) agreed.Add(d);
                else alone.Add((d, null));
        else if (down is null && rest.Count == 0)
            down = await ProbeAsync(client, ct);
        else if (down is null)
        {
            var service = scope.ServiceProvider.GetRequiredService<SessionService>();
            var ids = rest.Select(d => d.Id).ToList();
            var targets = await scope.ServiceProvider.GetRequiredService<ZapHubDb>().Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking()
                .Where(s => ids.Contains(s.Id)).ToDictionaryAsync(s => s.Id, s => service.TargetOf(s), ct);
            down = await ReadOneByOneAsync(client, targets, rest.Where(d => targets.ContainsKey(d.Id)).ToList(), agreed, alone, ct);
        }

        var db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        await MarkReachabilityAsync(db, gateway, down, now, ct);
        var sessions = db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]);
        if (down is not null && listed is null)
        {
            // Unreachable: the numbers not read say so, in one statement, and wait for the next pass; timeouts still end.
            var note = GatewayFailureOutcome.NoteOf(down);
            var unread = rest.Except(agreed).Except(alone.Select(a => a.Number)).Select(d => d.Id).ToList();
            foreach (var chunk in unread.Chunk(1000))
                await sessions.Where(s => chunk.Contains(s.Id)).ExecuteUpdateAsync(u => u.SetProperty(s => s.LastCheckedAt, now).SetProperty(s => s.LastError, note), ct);
        }
        foreach (var chunk in agreed.Select(d => d.Id).Chunk(1000))
            await sessions.Where(s => chunk.Contains(s.Id)).ExecuteUpdateAsync(u => u.SetProperty(s => s.LastCheckedAt, now), ct);
        // The gateway answered: an earlier "unreachable" on these numbers no longer holds.
        var cleared = agreed.Where(d => GatewayFailureOutcome.IsUnreachableNote(d.LastError)).Select(d => d.Id).ToList();
        if (cleared.Count > 0)
        {
            await sessions.Where(s => cleared.Contains(s.Id)).ExecuteUpdateAsync(u => u.SetProperty(s => s.LastError, (string?)null), ct);
            foreach (var d in agreed.Where(d => cleared.Contains(d.Id))) notifier.Publish(d.TenantId, d.Id);
        }
        foreach (var (number, seen) in alone) await SafelyAsync(number.Id, () => ReconcileAsync(number.Id, now, seen, ct), ct);
    }

    /// <summary>
    /// Providers without a list call: each due number is read on its own, a few at a time. When the first reads all fail
    /// the gateway is taken as down and the rest are not called.
    /// </summary>
    private static async Task<GatewayException?> ReadOneByOneAsync(IGateway client, Dictionary<Guid, GatewaySession> targets, List<Due> rest, List<Due> agreed,
        List<(Due, ObservedState?)> alone, CancellationToken ct)
    {
        GatewayException? last = null;
        int failed = 0, answered = 0;
        var sync = new Lock();
        await Parallel.ForEachAsync(rest, new ParallelOptions { MaxDegreeOfParallelism = ReadsAtOnce, CancellationToken = ct }, async (d, token) =>
        {
            lock (sync) if (answered == 0 && failed >= FailedReadsForUnreachable) return;
            try
            {
                var seen = await client.GetStateAsync(targets[d.Id], token);
                lock (sync)
                {
                    answered++;
                    if (Agrees(d, seen)) agreed.Add(d);
                    else alone.Add((d, seen));
                }
            }
            catch (GatewayException ex)
            {
                lock (sync) (failed, last) = (failed + 1, ex);
            }
        });
        return answered == 0 ? last : null;
    }

    /// <summary>A gateway marked unreachable with no number due and no list call: its "test connection" says whether it is back.</summary>
    private static async Task<GatewayException?> ProbeAsync(IGateway client, CancellationToken ct)
    {
        try
        {
            var check = await client.CheckAsync(ct);
            return check.Ok ? null : new GatewayException(GatewayFailure.Configuration, Components.Text.English(check.Detail.Store()));
        }
        catch (GatewayException ex) { return ex; }
    }

    /// <summary>Nothing to do for a number whose gateway reports the state ZapHub has, with the phone already known.</summary>
    private static bool Agrees(Due d, ObservedState seen) =>
        seen is { Exists: true, State: { } state } && state.State == d.State && (d.State != SessionState.Connected || d.HasPhone);

    /// <summary>Records the gateway's reachability when it changes, and tells the dashboards of its numbers.</summary>
    private async Task MarkReachabilityAsync(ZapHubDb db, Gateway gateway, GatewayException? down, DateTime now, CancellationToken ct)
    {
        if ((down is null) == (gateway.UnreachableSince is null)) return;
        var gateways = db.Gateways.Where(g => g.Id == gateway.Id);
        if (down is null)
        {
            await gateways.ExecuteUpdateAsync(u => u.SetProperty(g => g.UnreachableSince, (DateTime?)null).SetProperty(g => g.UnreachableNote, (string?)null), ct);
            logger.LogInformation("Gateway {GatewayId} answers again", gateway.Id);
        }
        else
        {
            var note = GatewayFailureOutcome.NoteOf(down);
            await gateways.ExecuteUpdateAsync(u => u.SetProperty(g => g.UnreachableSince, now).SetProperty(g => g.UnreachableNote, note), ct);
            logger.LogWarning("Gateway {GatewayId} does not answer: {Error}", gateway.Id, down.Message);
        }
        var numbers = await db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking().Where(s => s.GatewayId == gateway.Id)
            .Select(s => new { s.TenantId, s.Id }).ToListAsync(ct);
        foreach (var n in numbers) notifier.Publish(n.TenantId, n.Id);
    }

    private async Task SafelyAsync(Guid sessionId, Func<Task> work, CancellationToken ct)
    {
        try { await work(); }
        catch (DbUpdateConcurrencyException) { /* changed meanwhile; looked at again next pass */ }
        catch (Exception ex) when (!ct.IsCancellationRequested) { logger.LogWarning(ex, "Reconciling session {SessionId} failed", sessionId); }
    }

    /// <summary>One number on its own; <paramref name="seen"/> is what its gateway already said this pass, if anything.</summary>
    private async Task ReconcileAsync(Guid sessionId, DateTime now, ObservedState? seen, CancellationToken ct)
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
            observed = seen ?? await gatewayClient.GetStateAsync(sessions.TargetOf(session), ct);
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
