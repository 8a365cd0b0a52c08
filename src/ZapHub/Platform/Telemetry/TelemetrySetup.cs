using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using ZapHub.Features.PlatformKeys;
using ZapHub.Features.Tenancy;

namespace ZapHub.Platform.Telemetry;

public static class TelemetrySetup
{
    public const string MetricsPolicy = "metrics";

    /// <summary>ZapHub's meter plus ASP.NET Core's, HttpClient's, EF Core's, Npgsql's and the runtime's, for a Prometheus scraper.</summary>
    public static WebApplicationBuilder AddTelemetry(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<MetricsOptions>().BindConfiguration(MetricsOptions.Section);
        services.AddSingleton<ZapHubMetrics>();
        services.AddSingleton<StateGauges>();
        services.AddOpenTelemetry().WithMetrics(m => m
            .AddMeter(ZapHubMetrics.MeterName, "System.Net.Http", "System.Runtime", "Microsoft.EntityFrameworkCore", "Npgsql")
            .AddAspNetCoreInstrumentation()
            // Gauges are read fresh at each scrape (StateGauges keeps its own short cache).
            .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        var port = builder.Configuration.GetValue<int?>($"{MetricsOptions.Section}:{nameof(MetricsOptions.Port)}");
        // A scraper holds a key, never a cookie: refused with 401/403, not sent to the sign-in page.
        services.AddAuthorizationBuilder().AddPolicy(MetricsPolicy, p => p.AddAuthenticationSchemes(ApiKeyAuthenticationHandler.SchemeName).RequireAssertion(c =>
            (port is { } open && c.Resource is HttpContext http && http.Connection.LocalPort == open)
            || (c.User.HasClaim(ZapHubClaims.ActorKind, nameof(ActorKind.PlatformKey)) && c.User.HasClaim(ZapHubClaims.Scope, PlatformScopes.MetricsRead))));
        return builder;
    }

    public static WebApplication MapTelemetry(this WebApplication app)
    {
        if (!app.Services.GetRequiredService<IOptions<MetricsOptions>>().Value.Enabled) return app;
        app.MapPrometheusScrapingEndpoint("/metrics", meterProvider: null, configureBranchedPipeline: branch => branch.Use(async (http, next) =>
        {
            await http.RequestServices.GetRequiredService<StateGauges>().RefreshAsync(http.RequestAborted);
            await next(http);
        }), optionsName: null).RequireAuthorization(MetricsPolicy).DisableRateLimiting();
        return app;
    }
}
