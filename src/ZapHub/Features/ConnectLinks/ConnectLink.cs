using ZapHub.Data;

namespace ZapHub.Features.ConnectLinks;

/// <summary>
/// A hosted connect link: a short-lived capability to connect one number (by QR or pairing code) and watch its status,
/// for someone with no ZapHub account. The token is shown once, in the link; only its hash is kept.
/// </summary>
public sealed class ConnectLink : ITenantOwned
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid TenantId { get; set; }
    public Guid SessionId { get; set; }

    /// <summary>SHA-256 of the token in the link's address.</summary>
    public required byte[] TokenHash { get; set; }

    /// <summary>"qr" or "pairing".</summary>
    public required string Method { get; set; }

    /// <summary>"pt-BR" or "en": the page's language.</summary>
    public required string Locale { get; set; }

    /// <summary>Where a page opened on its own goes when the number is connected or the person gives up, with the outcome.</summary>
    public string? ReturnUrl { get; set; }

    public DateTime CreatedAt { get; set; }
    public required string CreatedBy { get; set; }
    public DateTime ExpiresAt { get; set; }
    public DateTime? OpenedAt { get; set; }

    /// <summary>When the number connected through this link: from then on the link only says it was used.</summary>
    public DateTime? UsedAt { get; set; }
    public DateTime? RevokedAt { get; set; }
}
