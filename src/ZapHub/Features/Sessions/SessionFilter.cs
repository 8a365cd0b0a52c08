using ZapHub.Gateways;

namespace ZapHub.Features.Sessions;

/// <summary>
/// Which numbers a list shows: a state, a tenant, a gateway, the platform's reference, or a search in names, phones,
/// references and instance names. The tenant's list and the operator's all-numbers page filter the same way.
/// </summary>
public sealed record SessionFilter(SessionState? State = null, string? Reference = null, string? Search = null, Guid? TenantId = null, Guid? GatewayId = null)
{
    public IQueryable<Session> Apply(IQueryable<Session> query)
    {
        if (State is { } state) query = query.Where(s => s.State == state);
        if (TenantId is { } tenantId) query = query.Where(s => s.TenantId == tenantId);
        if (GatewayId is { } gatewayId) query = query.Where(s => s.GatewayId == gatewayId);
        if (!string.IsNullOrWhiteSpace(Reference)) query = query.Where(s => s.Reference == Reference.Trim());
        if (Search?.Trim() is { Length: > 0 } term)
        {
            var lower = term.ToLowerInvariant();
            var digits = new string(term.Where(char.IsAsciiDigit).ToArray());
            query = query.Where(s => s.DisplayName.ToLower().Contains(lower) || s.Reference == term || s.InstanceName == term
                || (digits.Length >= 4 && s.Phone != null && s.Phone.Contains(digits)));
        }
        return query;
    }
}
