using ZapHub.Data;
using ZapHub.Platform;

namespace ZapHub.Features.Tenancy;

/// <summary>Adds audit rows to the caller's unit of work, so the action and its record commit together.</summary>
public sealed class AuditLog(TimeProvider time)
{
    public void Add(ZapHubDb db, Actor actor, Guid? tenantId, string action, string? targetType = null, string? targetId = null, string? details = null) =>
        db.AuditEntries.Add(new AuditEntry
        {
            At = time.UtcNow(),
            TenantId = tenantId,
            ActorKind = actor.Kind,
            ActorId = actor.Id,
            ActorName = actor.Name,
            Action = action,
            TargetType = targetType,
            TargetId = targetId,
            Details = details is { Length: > 2000 } ? details[..2000] : details,
            IpAddress = actor.IpAddress,
        });
}
