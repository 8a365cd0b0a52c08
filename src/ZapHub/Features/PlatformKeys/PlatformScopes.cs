using ZapHub.Features.Tenancy;

namespace ZapHub.Features.PlatformKeys;

public static class PlatformScopes
{
    /// <summary>Create, update, disable and list tenants; create their API keys.</summary>
    public const string TenantsManage = "tenants:manage";

    /// <summary>Scrape <c>/metrics</c>: what a Prometheus server is given, and nothing else.</summary>
    public const string MetricsRead = "metrics:read";

    public static readonly IReadOnlyList<string> All = [TenantsManage, MetricsRead, .. ApiScopes.All];
}
