using Microsoft.EntityFrameworkCore;
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
        // The console's format (json or simple, scopes, timestamps) comes from Logging:Console in configuration.
        SecretSafeLoggerFactory.Register(services);
        return builder;
    }

    public static WebApplication UsePlatform(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        // No page of ZapHub's may be framed by another site (clickjacking), except a connect link's page, which sets
        // its own frame-ancestors from the tenant's allowed origins before this runs.
        app.Use((context, next) =>
        {
            context.Response.OnStarting(() =>
            {
                if (!context.Response.Headers.ContainsKey("Content-Security-Policy"))
                {
                    context.Response.Headers.ContentSecurityPolicy = "frame-ancestors 'none'";
                    context.Response.Headers.XFrameOptions = "DENY";
                }
                return Task.CompletedTask;
            });
            return next(context);
        });
        app.UseZapHubLocalization();
        return app;
    }

    public static WebApplication MapPlatform(this WebApplication app)
    {
        app.MapOpenApi();
        // A self-hosted product's pages load nothing from outside and promote nothing: no CDN fonts, no AI chat, no
        // telemetry, no vendor toolbar.
        app.MapScalarApiReference("/api/docs", o => o.WithTitle("ZapHub API").DisableDefaultFonts().DisableAgent().DisableMcp()
            .DisableTelemetry().HideDeveloperTools().HideClientButton().WithFavicon("/favicon.svg"));
        app.MapHealthChecks("/health/live", new() { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new() { Predicate = c => c.Tags.Contains("ready") });
        return app;
    }

    private sealed class DatabaseHealthCheck(ZapHubDb db) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            if (!await db.Database.CanConnectAsync(cancellationToken)) return HealthCheckResult.Unhealthy("The database is not reachable.");
            if (db is SqliteZapHubDb && !await CanWriteAsync(db.Database.GetConnectionString()!, cancellationToken))
                return HealthCheckResult.Unhealthy("The database file is locked by another writer; ZapHub's writes are waiting.");
            return HealthCheckResult.Healthy();
        }

        /// <summary>
        /// Reads go on while another process holds SQLite's write lock (a forgotten `sqlite3` session, a backup tool), so
        /// only trying to take the lock shows it. ZapHub's own writes hold it for milliseconds.
        /// </summary>
        private static async Task<bool> CanWriteAsync(string connectionString, CancellationToken ct)
        {
            await using var connection = new Microsoft.Data.Sqlite.SqliteConnection(
                new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(connectionString) { Pooling = false, DefaultTimeout = 2 }.ToString());
            await connection.OpenAsync(ct);
            await using var probe = connection.CreateCommand();
            // BEGIN first: Microsoft.Data.Sqlite loses an error of a statement that follows one returning a row (the PRAGMA).
            // It retries a busy lock until the connection's DefaultTimeout.
            probe.CommandText = "BEGIN IMMEDIATE; ROLLBACK;";
            try
            {
                await probe.ExecuteNonQueryAsync(ct);
                return true;
            }
            catch (Microsoft.Data.Sqlite.SqliteException ex) when (ex.SqliteErrorCode is 5 or 6) { return false; }
        }
    }
}
