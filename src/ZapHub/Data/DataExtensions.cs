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

        // Pooled: building a context's options and internal services per scope cost more than a small request's queries.
        // On SQLite a list in a query (ids.Contains(x)) goes in as one JSON parameter, not EF's default of one parameter per
        // item: Microsoft.Data.Sqlite binds each parameter by searching the statement's parameter names, so a 500-item list
        // cost 125,000 name comparisons per execution (measured: a tenth of the gateway-webhook ingest throughput).
        services.AddPooledDbContextFactory<SqliteZapHubDb>((sp, o) =>
            o.UseSqlite(Storage(sp).ResolveConnectionString(), s => s.MigrationsHistoryTable("__migrations").UseParameterizedCollectionMode(ParameterTranslationMode.Parameter))
             .AddInterceptors(new SqlitePragmas(Storage(sp).SqliteSynchronous))
             .AddInterceptors(sp.GetServices<IInterceptor>()));
        services.AddPooledDbContextFactory<PostgresZapHubDb>((sp, o) =>
            o.UseNpgsql(PostgresConnectionString(Storage(sp).ResolveConnectionString()), s => s.MigrationsHistoryTable("__migrations"))
             .AddInterceptors(sp.GetServices<IInterceptor>()));
        services.AddScoped<ZapHubDb>(sp => (Storage(sp).Provider switch
        {
            StorageProvider.Postgres => (ZapHubDb)sp.GetRequiredService<IDbContextFactory<PostgresZapHubDb>>().CreateDbContext(),
            _ => sp.GetRequiredService<IDbContextFactory<SqliteZapHubDb>>().CreateDbContext(),
        }).ActFor(sp.GetRequiredService<TenantContext>()));

        return services;
    }

    private static StorageOptions Storage(IServiceProvider sp) => sp.GetRequiredService<IOptions<StorageOptions>>().Value;

    /// <summary>
    /// ZapHub keeps no session state on pooled connections (its row locks end with their transactions and LISTEN has its
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
            .UseSqlite("Data Source=design.db", s => s.MigrationsHistoryTable("__migrations")).Options);
}

public sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresZapHubDb>
{
    public PostgresZapHubDb CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresZapHubDb>()
            .UseNpgsql("Host=localhost;Database=zaphub_design", s => s.MigrationsHistoryTable("__migrations")).Options);
}
