using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Options;

namespace ZapHub.Data;

public static class DataExtensions
{
    public static IServiceCollection AddData(this IServiceCollection services)
    {
        services.AddOptions<StorageOptions>()
            .BindConfiguration(StorageOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddScoped<TenantContext>();
        services.AddSingleton<WriteGate>();

        // The options are built once: building them per scope, and looking up EF Core's internal services for each new
        // set, cost more than the queries of a small request.
        services.AddSingleton(sp => new DbContextOptionsBuilder<SqliteZapHubDb>()
            .UseApplicationServiceProvider(sp)
            .UseSqlite(Storage(sp).ResolveConnectionString(), s => s.MigrationsHistoryTable("__migrations"))
            .AddInterceptors(new SqlitePragmas(Storage(sp).SqliteSynchronous))
            .AddInterceptors(sp.GetServices<IInterceptor>()).Options);
        services.AddSingleton(sp => new DbContextOptionsBuilder<PostgresZapHubDb>()
            .UseApplicationServiceProvider(sp)
            .UseNpgsql(PostgresConnectionString(Storage(sp).ResolveConnectionString()), s => s.MigrationsHistoryTable("__migrations"))
            .AddInterceptors(sp.GetServices<IInterceptor>()).Options);
        services.AddScoped<ZapHubDb>(sp => Storage(sp).Provider switch
        {
            StorageProvider.Postgres => new PostgresZapHubDb(sp.GetRequiredService<DbContextOptions<PostgresZapHubDb>>(), sp.GetRequiredService<TenantContext>()),
            _ => new SqliteZapHubDb(sp.GetRequiredService<DbContextOptions<SqliteZapHubDb>>(), sp.GetRequiredService<TenantContext>()),
        });

        // Keys live in the database so every node (and every restart) can read what another protected.
        services.AddDataProtection().PersistKeysToDbContext<ZapHubDb>().SetApplicationName("ZapHub");
        return services;
    }

    private static StorageOptions Storage(IServiceProvider sp) => sp.GetRequiredService<IOptions<StorageOptions>>().Value;

    /// <summary>
    /// ZapHub keeps no session state on pooled connections (its advisory locks are transaction-scoped and LISTEN has its
    /// own connection), so Npgsql's reset on every return to the pool is a wasted round trip; the statements ZapHub runs
    /// most are prepared once per connection.
    /// </summary>
    public static string PostgresConnectionString(string configured) =>
        new Npgsql.NpgsqlConnectionStringBuilder(configured) { NoResetOnClose = true, MaxAutoPrepare = 64 }.ConnectionString;
}

// Design-time factories: `dotnet ef migrations add X --context SqliteZapHubDb -o Data/Migrations/Sqlite`.
public sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteZapHubDb>
{
    public SqliteZapHubDb CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteZapHubDb>()
            .UseSqlite("Data Source=design.db", s => s.MigrationsHistoryTable("__migrations")).Options, new TenantContext());
}

public sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresZapHubDb>
{
    public PostgresZapHubDb CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresZapHubDb>()
            .UseNpgsql("Host=localhost;Database=zaphub_design", s => s.MigrationsHistoryTable("__migrations")).Options, new TenantContext());
}
