namespace ZapHub.GatewayEmulator;

public sealed class EmulatorOptions
{
    public const string Section = "Emulator";

    /// <summary>Evolution's global key (env AUTHENTICATION_API_KEY on the real server).</summary>
    public string EvolutionApiKey { get; set; } = "emulator-evolution-key";

    /// <summary>WPPConnect's SECRET_KEY, from which session tokens are derived with bcrypt.</summary>
    public string WppSecretKey { get; set; } = "emulator-wpp-secret";

    /// <summary>Evolution configures Baileys with qrTimeout 45 s: a new code about every 45 s.</summary>
    public TimeSpan EvolutionQrInterval { get; set; } = TimeSpan.FromSeconds(45);

    /// <summary>QRCODE_LIMIT: after this many codes the attempt ends with "refused".</summary>
    public int EvolutionQrLimit { get; set; } = 30;

    /// <summary>How often Evolution posts `connecting` while WhatsApp is unreachable: ~19 a second was observed (no backoff).</summary>
    public TimeSpan EvolutionReconnectInterval { get; set; } = TimeSpan.FromMilliseconds(52);

    /// <summary>Evolution tries a webhook answered 5xx (or not answered) again after about this long, up to 10 tries in all.</summary>
    public TimeSpan EvolutionWebhookRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>WhatsApp Web rotates its QR about every 20 s.</summary>
    public TimeSpan WppQrInterval { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>wppconnect's autoClose: the page closes when nobody scans within this time.</summary>
    public TimeSpan WppAutoClose { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>SERVER_URL, echoed in Evolution webhooks.</summary>
    public string ServerUrl { get; set; } = "http://127.0.0.1:8080";
}
