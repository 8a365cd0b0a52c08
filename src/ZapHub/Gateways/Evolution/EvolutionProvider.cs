using System.Text.Json;

namespace ZapHub.Gateways.Evolution;

public sealed class EvolutionProvider : GatewayProvider
{
    public override GatewayKind Kind => GatewayKind.Evolution;
    public override string DisplayName => "Evolution API v2";
    public override string CredentialTextKey => "gw.key.evolution";
    public override Uri? LicenceUrl => new("https://github.com/EvolutionAPI/evolution-api/blob/main/LICENSE");

    /// <summary>Baileys' qrTimeout is 45 s (contract §1.8).</summary>
    public override TimeSpan QrLifetime => TimeSpan.FromSeconds(45);

    public override IGateway CreateClient(GatewayHttp http, string baseUrl, string credential) => new EvolutionGateway(http, baseUrl, credential);

    public override IReadOnlyList<GatewaySignal> ParseWebhook(JsonElement body) => EvolutionMapping.Parse(body);

    /// <summary>Every body carries the instance token (`apikey`) and the full callback URL with its secret (`destination`), contract §2.</summary>
    public override IReadOnlyList<string> SecretFields { get; } = ["apikey", "destination"];

    public override string InstanceField => "instance";

    /// <summary>Evolution retries a failed delivery with the same body, which carries its own millisecond date_time.</summary>
    public override string DedupeTime(string? sentAt, DateTime receivedAt) => sentAt is { Length: > 40 } ? sentAt[..40] : sentAt ?? "";

    public override string? RepeatKey(ReadOnlySpan<byte> body) => EvolutionMapping.RepeatKey(body);
}
