using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ZapHub.Data;
using ZapHub.Features.GatewayWebhooks;
using ZapHub.Gateways;

namespace ZapHub.Features.Sessions;

/// <summary>
/// The numbers' part of a batch of gateway events: states and QR codes through the lifecycle, health marks, the reconnect
/// breaker; after the commit, live updates, the phone of a QR login and closing attempts ZapHub ended.
/// </summary>
public sealed class SessionSignalHandler(IOptions<SessionOptions> options, SessionNotifier notifier, Reconciler reconciler, SessionService sessions,
    GatewayClients clients, WriteGate writeGate, ILogger<SessionSignalHandler> logger) : IGatewaySignalHandler
{
    /// <summary>
    /// Health marks are written at most this often: during a burst of receipts, rewriting the number's row for each one
    /// would contend with the dispatcher, which takes the same row for every send.
    /// </summary>
    private static readonly TimeSpan HealthMarkInterval = TimeSpan.FromSeconds(5);
    private readonly HashSet<Guid> toClose = [];

    public Task PrepareAsync(SignalBatch batch, CancellationToken ct) => Task.CompletedTask;

    public async Task ApplyAsync(SignalBatch batch, Session session, GatewayEvent source, GatewaySignal signal, CancellationToken ct)
    {
        if (session.LastEventAt is not { } seen || source.ReceivedAt - seen > HealthMarkInterval) session.LastEventAt = source.ReceivedAt;
        var wasConnected = session.State == SessionState.Connected;
        var cause = $"{Causes.Webhook}:{signal.RawEvent}";
        var now = batch.Now;
        switch (signal)
        {
            case StateSignal state:
                var change = SessionLifecycle.Apply(session, state, cause, now, source.Id);
                if (change is null) break;
                batch.Db.SessionEvents.Add(change);
                if (SessionLifecycle.IsDrop(change) && await Breaker.TripIfLoopingAsync(batch.Db, session, now, options.Value, ct)) toClose.Add(session.Id);
                break;
            case QrSignal qr:
                if (SessionLifecycle.ApplyQr(session, qr, clients.ProviderOf(batch.Gateways[session.GatewayId]).QrLifetime, cause, now, source.Id) is { } shown)
                    batch.Db.SessionEvents.Add(shown);
                if (session.State != SessionState.AwaitingScan || session.QrRefreshCount <= options.Value.MaxQrCodes) break;
                if (SessionLifecycle.Apply(session, new StateSignal(qr.RawEvent, SessionState.Disconnected, "qr_limit", SessionReasons.QrExpired), Causes.Timeout, now, source.Id) is { } ended)
                    batch.Db.SessionEvents.Add(ended);
                toClose.Add(session.Id);
                break;
            case AckSignal:
                if (session.LastAckAt is not { } acked || now - acked > HealthMarkInterval) session.LastAckAt = now;
                break;
        }
        if (!wasConnected && session.State == SessionState.Connected) batch.Reconnected.Add(session.Id);
    }

    public Task SaveAsync(SignalBatch batch, CancellationToken ct) => Task.CompletedTask;

    public async Task AfterCommitAsync(SignalBatch batch, CancellationToken ct)
    {
        foreach (var session in batch.Sessions.Values) notifier.Publish(session.TenantId, session.Id);
        // A number linked where no webhook names its phone (a WPPConnect QR login): the reconciler asks the gateway.
        foreach (var id in batch.Reconnected.Where(id => batch.Sessions[id].Phone is null)) reconciler.CheckSoon(id);
        if (toClose.Count == 0) return;

        // Attempts ZapHub ended (too many QR codes, a reconnect loop) are also ended on the gateway, best effort, and what
        // that left is recorded.
        foreach (var id in toClose)
        {
            var session = batch.Sessions[id];
            try { (await sessions.CloseOnGatewayAsync(session, batch.Gateways[session.GatewayId], ct)).ApplyTo(session); }
            catch (GatewayException ex) { logger.LogWarning("Could not close session {SessionId} on its gateway: {Error}", id, ex.Message); }
        }
        try
        {
            using (await writeGate.EnterAsync(batch.Db, ct)) await batch.Db.SaveChangesAsync(ct);
        }
        catch (DbUpdateConcurrencyException) { /* changed meanwhile: the reconciler closes what is still open */ }
    }
}
