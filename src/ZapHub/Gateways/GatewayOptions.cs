using System.ComponentModel.DataAnnotations;

namespace ZapHub.Gateways;

public sealed class GatewayOptions
{
    public const string Section = "Gateways";

    /// <summary>Reads (state, QR, check): generous, gateways are slow under load.</summary>
    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Start, close, logout, delete and sends: these drive a browser or a socket and can take long.</summary>
    public TimeSpan LongTimeout { get; set; } = TimeSpan.FromSeconds(90);

    /// <summary>
    /// How gateways reach ZapHub's webhook receiver, e.g. https://zaphub.example.com. Empty: ZapHub's own
    /// listening address (fine when gateways run on the same host).
    /// </summary>
    public string? CallbackBaseUrl { get; set; }

    /// <summary>Largest gateway webhook body accepted (WPPConnect inlines downloaded media as base64).</summary>
    [Range(1024, 256 * 1024 * 1024)]
    public int MaxWebhookBytes { get; set; } = 4 * 1024 * 1024;
}
