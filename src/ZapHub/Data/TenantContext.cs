using ZapHub.Features.Tenancy;

namespace ZapHub.Data;

/// <summary>
/// The tenant the current request, circuit or job acts for. Fixed once per scope: a request resolves it from
/// its credentials, a background job sets it from the row it works on.
/// </summary>
public sealed class TenantContext
{
    public Guid? TenantId { get; private set; }
    public TenantRole? Role { get; private set; }

    /// <summary>True when the scope acts for the platform (operator console, bootstrap), not for a tenant.</summary>
    public bool IsPlatform { get; private set; }

    /// <summary>
    /// True for a background job that commits many tenants' rows in one group (intake, ledger, gateway events, relay,
    /// sender, the outbox's sweep). Its saves are checked row by row instead: every row keeps the tenant it was read
    /// with, and no row is written without one (ADR 0003).
    /// </summary>
    public bool IsWorker { get; private set; }

    public void Set(Guid tenantId, TenantRole? role)
    {
        if (TenantId is { } current && current != tenantId)
            throw new InvalidOperationException("The tenant of a scope cannot change once set.");
        TenantId = tenantId;
        Role = role;
    }

    public void UsePlatformScope() => IsPlatform = true;

    public void UseWorkerScope() => IsWorker = true;

    public Guid RequireTenant() =>
        TenantId ?? throw new InvalidOperationException("No tenant is set for this scope.");
}
