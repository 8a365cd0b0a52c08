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

        services.AddDbContextFactory<SqliteZapHubDb>((sp, o) =>
            o.UseSqlite(Storage(sp).ResolveConnectionString(), s => s.MigrationsHistoryTable("__migrations"))
             .AddInterceptors(new SqlitePragmas(Storage(sp).SqliteSynchronous))
             .AddInterceptors(sp.GetServices<IInterceptor>()),
            ServiceLifetime.Scoped);
        services.AddDbContextFactory<PostgresZapHubDb>((sp, o) =>
            o.UseNpgsql(Storage(sp).ResolveConnectionString(), s => s.MigrationsHistoryTable("__migrations"))
             .AddInterceptors(sp.GetServices<IInterceptor>()),
            ServiceLifetime.Scoped);

        services.AddScoped<IDbContextFactory<ZapHubDb>>(sp => Storage(sp).Provider switch
        {
            StorageProvider.Postgres => new Forwarding<PostgresZapHubDb>(sp.GetRequiredService<IDbContextFactory<PostgresZapHubDb>>()),
            _ => new Forwarding<SqliteZapHubDb>(sp.GetRequiredService<IDbContextFactory<SqliteZapHubDb>>()),
        });
        services.AddScoped<ZapHubDb>(sp => sp.GetRequiredService<IDbContextFactory<ZapHubDb>>().CreateDbContext());

        // Keys live in the database so every node (and every restart) can read what another protected.
        services.AddDataProtection().PersistKeysToDbContext<ZapHubDb>().SetApplicationName("ZapHub");
        return services;
    }

    private static StorageOptions Storage(IServiceProvider sp) => sp.GetRequiredService<IOptions<StorageOptions>>().Value;

    private sealed class Forwarding<T>(IDbContextFactory<T> inner) : IDbContextFactory<ZapHubDb> where T : ZapHubDb
    {
        public ZapHubDb CreateDbContext() => inner.CreateDbContext();
    }
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
