using ZapHub.Gateways;

namespace ZapHub.Features.Gateways;

/// <summary>A gateway server ZapHub drives. Credentials are encrypted with Data Protection and never leave the server.</summary>
public sealed class Gateway
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public required string Name { get; set; }
    public GatewayKind Kind { get; set; }

    /// <summary>http(s) URL of the server, or emulator://evolution | emulator://wppconnect for the built-in emulator.</summary>
    public required string BaseUrl { get; set; }

    /// <summary>Evolution's global API key or WPPConnect's secret key, protected.</summary>
    public required string ProtectedCredentials { get; set; }

    /// <summary>Null: the platform's, open to every tenant. Otherwise the one tenant that brought it.</summary>
    public Guid? OwnerTenantId { get; set; }
    public int Capacity { get; set; } = 50;
    public bool Enabled { get; set; } = true;
    /// <summary>Draining: keeps its numbers but takes no new ones (the operator is emptying it).</summary>
    public bool Draining { get; set; }

    /// <summary>
    /// Since when the gateway has not answered the reconciler (null: it answers). Its numbers show it, and it is probed with
    /// one call per pass instead of one per number.
    /// </summary>
    public DateTime? UnreachableSince { get; set; }

    /// <summary>What the last failed probe said (a note).</summary>
    public string? UnreachableNote { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime? LastCheckedAt { get; set; }
    public bool? LastCheckOk { get; set; }
    public string? LastCheckDetail { get; set; }
}
