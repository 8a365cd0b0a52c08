using Microsoft.AspNetCore.Identity;

namespace ZapHub.Features.Accounts;

public sealed class User : IdentityUser<Guid>
{
    public User() => Id = Guid.CreateVersion7();

    public string? DisplayName { get; set; }

    /// <summary>Platform administrators run the operator console; they are not members of tenants by default.</summary>
    public bool IsOperator { get; set; }

    /// <summary>Set for accounts created with a generated one-time password; the dashboard asks for a new one.</summary>
    public bool MustChangePassword { get; set; }

    public DateTime CreatedAt { get; set; }
}
