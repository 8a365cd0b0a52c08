namespace ZapHub.Platform.Cluster;

public sealed class ClusterOptions
{
    public const string Section = "Cluster";

    /// <summary>How long a node's work lease lasts without renewal: the longest a dead node's work waits for another node.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often a node renews its leases and rebalances (takes free ones, gives back more than its share).</summary>
    public TimeSpan RenewInterval { get; set; } = TimeSpan.FromSeconds(3);
}
