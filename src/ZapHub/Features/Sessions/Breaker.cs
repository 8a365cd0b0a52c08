using ZapHub.Platform;
using Microsoft.EntityFrameworkCore;
using ZapHub.Data;
using ZapHub.Gateways;

namespace ZapHub.Features.Sessions;

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
        session.LastError = Note.Of("reconnect_loop", ("drops", drops), ("minutes", Math.Round(options.FlapWindow.TotalMinutes))).Store();
        return true;
    }
}
