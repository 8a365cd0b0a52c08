namespace ZapHub.Platform.Cluster;

/// <summary>This process among the nodes sharing the database: leases carry it, so a lease names its holder.</summary>
public sealed class NodeIdentity
{
    public string Id { get; } = $"{Environment.MachineName[..Math.Min(20, Environment.MachineName.Length)]}/{Environment.ProcessId}/{Guid.NewGuid():N}";
}
