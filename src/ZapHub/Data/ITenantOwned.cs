namespace ZapHub.Data;

/// <summary>A row that belongs to exactly one tenant. The tenant filter and the save-time check apply to it.</summary>
public interface ITenantOwned
{
    Guid TenantId { get; set; }
}
