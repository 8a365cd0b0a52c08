using System.ComponentModel.DataAnnotations;

namespace ZapHub.Features.Accounts;

public sealed class BootstrapOptions
{
    public const string Section = "Bootstrap";

    /// <summary>The operator account created on the first start.</summary>
    [Required, EmailAddress]
    public string OperatorEmail { get; set; } = "admin@zaphub.local";

    /// <summary>
    /// Optional, for automated installs: the first operator's password. Empty (the default) means a one-time
    /// password is generated and printed; there is never a fixed default.
    /// </summary>
    public string? OperatorPassword { get; set; }
}

public sealed class DemoOptions
{
    public const string Section = "Demo";

    /// <summary>Seeds a demo tenant with an owner (and, with the sessions feature, the gateway emulator). On by default in Development.</summary>
    public bool Enabled { get; set; }

    public string TenantSlug { get; set; } = "demo";
    public string TenantName { get; set; } = "Barbearia Demo";
    public string OwnerEmail { get; set; } = "dono@demo.zaphub.local";
}
