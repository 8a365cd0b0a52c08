using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using ZapHub.Features.Gateways;

namespace ZapHub.Gateways;

/// <summary>Builds the <see cref="IGateway"/> for a registered gateway, and protects the secrets they use.</summary>
public sealed class GatewayClients(IHttpClientFactory clients, IOptions<GatewayOptions> options, IDataProtectionProvider protection, IServer server,
    GatewayProviders providers, ILogger<GatewayHttp> logger, Platform.Telemetry.ZapHubMetrics metrics)
{
    public const string HttpClientName = "gateways";
    public const string EmulatorScheme = "emulator://";
    private readonly IDataProtector credentials = protection.CreateProtector("ZapHub.Gateways.Credentials");
    private readonly IDataProtector sessionSecrets = protection.CreateProtector("ZapHub.Sessions.Secrets");

    public IGateway For(Gateway gateway)
    {
        var secret = credentials.Unprotect(gateway.ProtectedCredentials);
        var http = new GatewayHttp(clients.CreateClient(HttpClientName), options.Value, logger, secret);
        return new MeasuredGateway(providers.For(gateway.Kind).CreateClient(http, ResolveBaseUrl(gateway.BaseUrl), secret), metrics);
    }

    public GatewayProvider ProviderOf(Gateway gateway) => providers.For(gateway.Kind);

    public string ProtectCredentials(string secret) => credentials.Protect(secret);
    public string ProtectSessionSecret(string secret) => sessionSecrets.Protect(secret);
    public string UnprotectSessionSecret(string protectedSecret) => sessionSecrets.Unprotect(protectedSecret);

    /// <summary>The built-in emulator lives inside this app: emulator://evolution → {self}/emulator/evolution.</summary>
    public string ResolveBaseUrl(string baseUrl) =>
        baseUrl.StartsWith(EmulatorScheme, StringComparison.Ordinal)
            ? $"{SelfAddress()}/emulator/{baseUrl[EmulatorScheme.Length..]}"
            : baseUrl;

    /// <summary>Where gateways post webhooks: the configured public URL, or this process's own listening address.</summary>
    public Uri CallbackBase() =>
        new(string.IsNullOrWhiteSpace(options.Value.CallbackBaseUrl) ? SelfAddress() : options.Value.CallbackBaseUrl.TrimEnd('/'));

    private string SelfAddress()
    {
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.Ordinal))
            ?? server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
            ?? "http://127.0.0.1:5080";
        // A wildcard bind is not an address to call.
        return address.Replace("://0.0.0.0", "://127.0.0.1").Replace("://[::]", "://127.0.0.1").Replace("://+", "://127.0.0.1").Replace("://*", "://127.0.0.1")
            .Replace("://localhost", "://127.0.0.1").TrimEnd('/');
    }
}
