using Microsoft.Extensions.DependencyInjection.Extensions;
using ZapHub.Gateways.Evolution;
using ZapHub.Gateways.WppConnect;

namespace ZapHub.Gateways;

public static class GatewaySetup
{
    /// <summary>The gateway port: options, the HTTP client (no resilience handler: gateway POSTs are never repeated blindly) and every provider.</summary>
    public static IServiceCollection AddGateways(this IServiceCollection services)
    {
        services.AddOptions<GatewayOptions>().BindConfiguration(GatewayOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        // The default client logging writes request URLs, and WPPConnect takes its secret key in the path: GatewayHttp logs
        // each call itself, with secrets masked.
        services.AddHttpClient(GatewayClients.HttpClientName, c => c.Timeout = Timeout.InfiniteTimeSpan).RemoveAllLoggers();
        services.TryAddSingleton<GatewayProviders>();
        services.AddSingleton<GatewayClients>();
        services.AddGatewayProvider<EvolutionProvider>();
        services.AddGatewayProvider<WppConnectProvider>();
        return services;
    }

    public static IServiceCollection AddGatewayProvider<T>(this IServiceCollection services) where T : GatewayProvider =>
        services.AddSingleton<GatewayProvider, T>();
}
