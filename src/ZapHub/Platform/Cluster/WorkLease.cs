namespace ZapHub.Platform.Cluster;

/// <summary>
/// Who works one partition of one background role, until when. A node renews its leases while it lives; a lease that
/// ran out (a node that died or lost the database) is taken by another node.
/// </summary>
public sealed class WorkLease
{
    public required string Role { get; set; }
    public short Partition { get; set; }

    /// <summary>The holding node (<c>NodeIdentity</c>), or null when free.</summary>
    public string? Holder { get; set; }
    public DateTime Until { get; set; }
}
