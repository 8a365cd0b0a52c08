using Microsoft.EntityFrameworkCore;
using ZapHub.Data;

namespace ZapHub.Features.Messages;

public static class HeldMessages
{
    /// <summary>Messages held for numbers that just came back go out now instead of at their next check. The caller wakes the dispatcher.</summary>
    public static Task<int> ReleaseAsync(ZapHubDb db, IReadOnlyCollection<Guid> sessionIds, DateTime now, CancellationToken ct) =>
        db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter])
            .Where(m => m.SessionId != null && sessionIds.Contains(m.SessionId.Value) && m.Status == MessageStatus.Held)
            .ExecuteUpdateAsync(u => u.SetProperty(m => m.DueAt, now), ct);
}
