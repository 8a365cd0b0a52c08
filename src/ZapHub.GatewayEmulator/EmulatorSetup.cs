using Microsoft.Extensions.DependencyInjection.Extensions;
using ZapHub.GatewayEmulator.Control;
using ZapHub.GatewayEmulator.Evolution;
using ZapHub.GatewayEmulator.WppConnect;

namespace ZapHub.GatewayEmulator;

public static class EmulatorSetup
{
    public static IServiceCollection AddGatewayEmulator(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<EmulatorOptions>().Bind(configuration.GetSection(EmulatorOptions.Section));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<Faults>();
        services.AddSingleton<InstanceFaults>();
        services.AddSingleton<SentLog>();
        services.AddSingleton<EvolutionEmulator>();
        services.AddSingleton<WppConnectEmulator>();
        services.AddSingleton<WebhookPoster>();
        services.AddHostedService(sp => sp.GetRequiredService<WebhookPoster>());
        // The default client logging writes every request URL, and a callback URL carries its receiver's secret.
        services.AddHttpClient(WebhookPoster.ClientName, c => c.Timeout = TimeSpan.FromSeconds(30)).RemoveAllLoggers();
        return services;
    }

    /// <summary>Evolution under {prefix}/evolution, WPPConnect under {prefix}/wppconnect, the phone under {prefix}/_emulator.</summary>
    public static IEndpointRouteBuilder MapGatewayEmulator(this IEndpointRouteBuilder app, string prefix = "")
    {
        EvolutionRoutes.Map(app.MapGroup(prefix + "/evolution").AddEndpointFilter(InjectFaults).ExcludeFromDescription());
        WppConnectRoutes.Map(app.MapGroup(prefix + "/wppconnect").AddEndpointFilter(InjectFaults).ExcludeFromDescription());
        ControlRoutes.Map(app.MapGroup(prefix + "/_emulator").ExcludeFromDescription());
        return app;
    }

    private static async ValueTask<object?> InjectFaults(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var faults = context.HttpContext.RequestServices.GetRequiredService<Faults>();
        if (faults.TryConsumeReset())
        {
            context.HttpContext.Abort();
            return Results.Empty;
        }
        if (faults.Latency > TimeSpan.Zero) await Task.Delay(faults.Latency, context.HttpContext.RequestAborted);
        if (faults.TryConsumeFailure())
            return Results.Json(new { status = 500, error = "Internal Server Error", response = new { message = "Injected failure" } }, statusCode: 500);
        var result = await next(context);
        if (faults.AnswerDelay > TimeSpan.Zero) await Task.Delay(faults.AnswerDelay, context.HttpContext.RequestAborted);
        return result;
    }
}

public static class EmulatorProgram
{
    public static async Task Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Services.AddGatewayEmulator(builder.Configuration);
        var app = builder.Build();
        app.MapGatewayEmulator();
        await app.RunAsync();
    }
}
