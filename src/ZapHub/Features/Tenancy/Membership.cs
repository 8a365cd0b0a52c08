using ZapHub.Data;
using ZapHub.Features.Accounts;

namespace ZapHub.Features.Tenancy;

public enum TenantRole { Member = 0, Admin = 1, Owner = 2 }

public sealed class Membership : ITenantOwned
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid TenantId { get; set; }
    public Guid UserId { get; set; }
    public User? User { get; set; }
    public Tenant? Tenant { get; set; }
    public TenantRole Role { get; set; }
    public DateTime CreatedAt { get; set; }
}
