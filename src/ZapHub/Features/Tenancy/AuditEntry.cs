namespace ZapHub.Features.Tenancy;

public enum ActorKind { User, ApiKey, PlatformKey, ConnectLink, System }

/// <summary>
/// Who did what, when, to what. Platform-level actions (a gateway registered) have no tenant; actions on a
/// tenant's resources carry its id so its owners see them.
/// </summary>
public sealed class AuditEntry
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public DateTime At { get; set; }
    public Guid? TenantId { get; set; }
    public ActorKind ActorKind { get; set; }
    public string? ActorId { get; set; }
    public required string ActorName { get; set; }
    public required string Action { get; set; }
    public string? TargetType { get; set; }
    public string? TargetId { get; set; }
    public string? Details { get; set; }
    public string? IpAddress { get; set; }
}
