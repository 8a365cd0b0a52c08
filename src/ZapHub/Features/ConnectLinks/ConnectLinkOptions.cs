using System.ComponentModel.DataAnnotations;

namespace ZapHub.Features.ConnectLinks;

/// <summary>The <c>ConnectLinks</c> section.</summary>
public sealed class ConnectLinkOptions
{
    public const string Section = "ConnectLinks";

    /// <summary>How long a link lives when its creator does not say.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan DefaultLifetime { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>The longest a creator may ask for.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00")]
    public TimeSpan MaxLifetime { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Origins every tenant's connect page may be framed by and return to (the platform's own app), besides the tenant's own.</summary>
    public string[] AllowedOrigins { get; set; } = [];

    /// <summary>The address people reach ZapHub at, for the links' URLs; by default the address the request came in on.</summary>
    public string? PublicBaseUrl { get; set; }
}
