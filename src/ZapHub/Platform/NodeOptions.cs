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

    public string[] Roles { get; set; } = [Web, Worker];

    public bool RunsWorkers => Roles.Contains(Worker, StringComparer.OrdinalIgnoreCase);
}
