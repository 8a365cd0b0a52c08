using ZapHub.Features.Tenancy;

namespace ZapHub.Features.PlatformKeys;

public static class PlatformScopes
{
    /// <summary>Create, update, disable and list tenants; create their API keys.</summary>
    public const string TenantsManage = "tenants:manage";

    public static readonly IReadOnlyList<string> All = [TenantsManage, .. ApiScopes.All];
}
