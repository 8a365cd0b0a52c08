namespace ZapHub.Platform.Cluster;

/// <summary>
/// Background work is cut into a fixed number of partitions by the id it belongs to (a number, a tenant, a gateway),
/// so that nodes can share it while everything about one id stays with one node at a time, in order. The count is
/// part of the stored data (rows carry their partition): changing it needs a migration that renumbers them.
/// </summary>
public static class WorkPartitions
{
    public const int Count = 16;

    /// <summary>The roles shared this way: gateway-event processing (by number), the event relay (by tenant), the reconciler (by gateway).</summary>
    public const string Signals = "signals", Relay = "relay", Reconcile = "reconcile";

    public static readonly string[] Roles = [Signals, Relay, Reconcile];

    /// <summary>
    /// The id's last hexadecimal digit: stable across processes and versions, random in v4 and v7 GUIDs, and readable by
    /// SQL on either database (the migration that introduced partitions computed it for the rows already stored).
    /// </summary>
    public static short Of(Guid id)
    {
        Span<byte> bytes = stackalloc byte[16];
        id.TryWriteBytes(bytes);
        return (short)(bytes[15] & 0x0F);
    }

    public static readonly IReadOnlyList<short> All = Enumerable.Range(0, Count).Select(p => (short)p).ToArray();
}
