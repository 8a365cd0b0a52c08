using Microsoft.Extensions.Diagnostics.HealthChecks;
using Scalar.AspNetCore;
using ZapHub.Data;

namespace ZapHub.Platform;

public static class PlatformSetup
{
    public static WebApplicationBuilder AddPlatform(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton(TimeProvider.System);
        services.AddProblemDetails();
        services.ConfigureHttpJsonOptions(o => o.SerializerOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter()));
        services.AddExceptionHandler<ProblemExceptionHandler>();
        services.AddValidation();
        services.AddOpenApi();
        services.AddRateLimits();
        services.AddHealthChecks().AddCheck<DatabaseHealthCheck>("database", tags: ["ready"]);
        services.AddHttpContextAccessor();
        services.AddOptions<NodeOptions>().BindConfiguration(NodeOptions.Section);
        if (!builder.Environment.IsDevelopment())
            builder.Logging.AddJsonConsole(o => o.IncludeScopes = true);
        SecretSafeLoggerFactory.Register(services);
        return builder;
    }

    public static WebApplication UsePlatform(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseZapHubLocalization();
        return app;
    }

    public static WebApplication MapPlatform(this WebApplication app)
    {
        app.MapOpenApi();
        app.MapScalarApiReference("/api/docs", o => o.WithTitle("ZapHub API"));
        app.MapHealthChecks("/health/live", new() { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new() { Predicate = c => c.Tags.Contains("ready") });
        return app;
    }

    private sealed class DatabaseHealthCheck(ZapHubDb db) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
            await db.Database.CanConnectAsync(cancellationToken)
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy("The database is not reachable.");
    }
}
