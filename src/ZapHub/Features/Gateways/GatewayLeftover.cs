namespace ZapHub.Features.Gateways;

/// <summary>
/// Something a stop could not clean through a gateway's API (a locked browser, a stored session its next start would
/// relaunch), shown to the operator on that gateway with the action to take, until the operator marks it cleaned.
/// Platform-level: the operator acts on the server, whoever's number it was.
/// </summary>
public sealed class GatewayLeftover
{
    public long Id { get; set; }
    public Guid GatewayId { get; set; }
    public Guid? TenantId { get; set; }
    public required string InstanceName { get; set; }

    /// <summary>One of <see cref="ZapHub.Gateways.Leftovers"/>.</summary>
    public required string Kind { get; set; }
    public DateTime FoundAt { get; set; }
    public DateTime? ResolvedAt { get; set; }
    public string? ResolvedBy { get; set; }
}
