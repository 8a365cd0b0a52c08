namespace ZapHub.Features.Tenancy;

public sealed class Tenant
{
    public const string DefaultTimeZone = "America/Sao_Paulo";
    public const string DefaultLocale = "pt-BR";

    public Guid Id { get; set; } = Guid.CreateVersion7();
    public required string Name { get; set; }
    public required string Slug { get; set; }
    public string TimeZone { get; set; } = DefaultTimeZone;
    public string Locale { get; set; } = DefaultLocale;
    public bool Enabled { get; set; } = true;

    /// <summary>Plan limit: how many WhatsApp numbers the tenant may connect.</summary>
    public int MaxSessions { get; set; } = 10;

    /// <summary>An https image shown on the tenant's connect page.</summary>
    public string? LogoUrl { get; set; }

    /// <summary>The connect page's accent colour, #rrggbb.</summary>
    public string? BrandColor { get; set; }

    /// <summary>Space-separated origins allowed to frame the tenant's connect page and to be sent back to from it.</summary>
    public string? EmbedOrigins { get; set; }

    public IReadOnlyList<string> EmbedOriginList => (EmbedOrigins ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);

    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}
