using System.Globalization;
using System.Text;
using System.Text.Json;

namespace ZapHub.Gateways.WppConnect;

public sealed class WppConnectProvider : GatewayProvider
{
    public override GatewayKind Kind => GatewayKind.WppConnect;
    public override string DisplayName => "WPPConnect Server";
    public override string CredentialTextKey => "gw.key.wpp";

    /// <summary>WhatsApp Web rotates its QR about every 20 s.</summary>
    public override TimeSpan QrLifetime => TimeSpan.FromSeconds(20);

    public override bool LostSessionsReadClosed => true;

    public override IGateway CreateClient(GatewayHttp http, string baseUrl, string credential) => new WppConnectGateway(http, baseUrl, credential);

    public override IReadOnlyList<GatewaySignal> ParseWebhook(JsonElement body) => WppConnectMapping.Parse(body);

    public override string InstanceField => "session";

    /// <summary>WPPConnect never retries, and some bodies carry no time (status-find): identical bodies are distinct events.</summary>
    public override string DedupeTime(string? sentAt, DateTime receivedAt) => receivedAt.Ticks.ToString("D19", CultureInfo.InvariantCulture);

    /// <summary>bcrypt reads 72 bytes of session name plus secret: past that, tokens can be forged without the secret.</summary>
    public override string? CredentialProblem(string credential, int instanceNameLength) =>
        Encoding.UTF8.GetByteCount(credential) > WppConnectGateway.BcryptLimit - instanceNameLength
            ? $"WPPConnect's secret key must be at most {WppConnectGateway.BcryptLimit - instanceNameLength} bytes: bcrypt ignores anything past 72 bytes of session name plus secret."
            : null;
}
