namespace ZapHub.GatewayEmulator.Evolution;

/// <summary>One Evolution instance and the phone behind it. Guarded by its own lock.</summary>
public sealed class EvolutionInstance
{
    public required string Name { get; init; }
    public string Id { get; } = Guid.NewGuid().ToString();
    public required string Token { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Baileys WAConnectionState: close | connecting | open (what connectionState answers).</summary>
    public string State { get; set; } = "close";

    /// <summary>
    /// The database's connectionStatus, which fetchInstances lists: written on each QR ("connecting"), on open, and on a close
    /// that does not reconnect (logout). A dropped connection Evolution reconnects leaves it "open", and the QR limit leaves
    /// it "connecting" (contract §2).
    /// </summary>
    public string StoredStatus { get; set; } = "close";
    public int Count { get; set; }
    public string? QrCode { get; set; }
    public string? QrBase64 { get; set; }
    public string? PairingCode { get; set; }
    public string? PairingPhone { get; set; }
    public string? Wuid { get; set; }
    public string? ProfileName { get; set; }
    public int? DisconnectionReasonCode { get; set; }
    public DateTimeOffset? DisconnectionAt { get; set; }

    /// <summary>A Baileys socket exists (connect was called since the server started). Without one, sends fail inside the server.</summary>
    public bool HasSocket { get; set; }

    /// <summary>The no-backoff reconnect loop of an unreachable WhatsApp is running.</summary>
    public bool Looping { get; set; }

    /// <summary>Logged in before: after a restart of the connection it comes back to open without a scan.</summary>
    public bool HasSession { get; set; }

    public string? WebhookUrl { get; set; }

    /// <summary>The proxy the instance's socket uses (protocol://host:port), its user, and whether a password came with it.</summary>
    public string? Proxy { get; set; }
    public string? ProxyUsername { get; set; }
    public bool ProxyPasswordGiven { get; set; }
    public bool WebhookByEvents { get; set; }
    public bool WebhookEnabled { get; set; }
    public HashSet<string> WebhookEvents { get; set; } = [];
    public string WebhookId { get; } = "cm" + Guid.NewGuid().ToString("N")[..23];

    public ITimer? QrTimer { get; set; }
    public object Sync { get; } = new();

    public object QrObject() => new { pairingCode = PairingCode, code = QrCode, base64 = QrBase64, count = Count };
}
