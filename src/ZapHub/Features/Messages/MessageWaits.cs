using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ZapHub.Data;
using ZapHub.Features.Sessions;
using ZapHub.Gateways;
using ZapHub.Platform;
using ZapHub.Platform.Cluster;

namespace ZapHub.Features.Messages;

/// <summary>
/// A message this node holds that does not go now: it waits (quiet hours, the daily limit, a paused number, a send in
/// flight on another node), moves to another connected number of the tenant, is held for a disconnected number, or
/// expires when held too long. Each change is handed back to the queue with a timeline line when something changed.
/// </summary>
public sealed class MessageWaits(NodeIdentity node, IOptions<MessagingOptions> options)
{
    private static readonly MessageStatus[] Waiting = [MessageStatus.Queued, MessageStatus.Scheduled, MessageStatus.Held];

    /// <summary>The number cannot send: another connected number of the tenant takes the message if allowed, otherwise it waits (for a while).</summary>
    /// <returns>Whether the message moved to another number (and is due now).</returns>
    public async Task<bool> RerouteOrHoldAsync(ZapHubDb db, Message m, string reason, TenantSendRules tenantRules, DateTime now, CancellationToken ct)
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
                return true;
            }
        }
        var heldSince = m.HeldSince ?? now;
        if (now - heldSince >= TimeSpan.FromMinutes(settings.HoldMinutes))
        {
            await TransitionAsync(db, m.Id, now, x => (x.Status, x.StatusReason, x.FailureCategory, x.FailedAt) =
                (MessageStatus.Failed, Note.Of("send_expired", ("detail", Why(reason)), ("minutes", settings.HoldMinutes)).Store(), "expired", now), null, ct);
            return false;
        }
        await TransitionAsync(db, m.Id, now, x => (x.Status, x.StatusReason, x.HeldSince, x.DueAt) = (MessageStatus.Held, reason, heldSince, now + options.Value.HoldRecheck),
            Note.Of("held_number", ("why", Why(reason)), ("minutes", settings.HoldMinutes)).Store(), ct);
        return false;
    }

    public Task DeferAsync(ZapHubDb db, Guid id, DateTime until, string? reason, TenantSendRules tenantRules, DateTime now, CancellationToken ct)
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
        Note.Key("mwhy." + (reason is Governor.Reasons.SessionDisabled or Governor.Reasons.SessionRemoved or Governor.Reasons.GatewayDown ? reason : Governor.Reasons.SessionDown));
}
