namespace ZapHub.Platform;

/// <summary>
/// What this node does. Large installs run several nodes of the same binary against one PostgreSQL: some only
/// serve HTTP (web: API, dashboard, webhook receiver), some only run the background workers (worker).
/// </summary>
public sealed class NodeOptions
{
    public const string Section = "Node";
    public const string Web = "web";
    public const string Worker = "worker";

    /// <summary>
    /// Empty means both. No default in the array itself: configuration binding merges into an existing array by
    /// index, so a default of [web, worker] could never be narrowed to [web].
    /// </summary>
    public string[] Roles { get; set; } = [];

    public bool RunsWorkers => Roles.All(string.IsNullOrWhiteSpace) || Roles.Contains(Worker, StringComparer.OrdinalIgnoreCase);
}
