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

    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}
