using Microsoft.EntityFrameworkCore;
using ZapHub.Data;

namespace ZapHub.UnitTests;

/// <summary>A model change without a migration for each provider fails the build here, not in production.</summary>
public class MigrationTests
{
    [Fact]
    public void SqliteMigrationsMatchTheModel()
    {
        using var db = new SqliteDesignTimeFactory().CreateDbContext([]);
        Assert.False(db.Database.HasPendingModelChanges(), "Run: dotnet ef migrations add <Name> --context SqliteZapHubDb -o Data/Migrations/Sqlite");
    }

    [Fact]
    public void PostgresMigrationsMatchTheModel()
    {
        using var db = new PostgresDesignTimeFactory().CreateDbContext([]);
        Assert.False(db.Database.HasPendingModelChanges(), "Run: dotnet ef migrations add <Name> --context PostgresZapHubDb -o Data/Migrations/Postgres");
    }

    [Fact]
    public void BothProvidersHaveTheSameMigrations()
    {
        static IEnumerable<string> Names(DbContext db) => db.Database.GetMigrations().Select(m => m[(m.IndexOf('_') + 1)..]);
        using var sqlite = new SqliteDesignTimeFactory().CreateDbContext([]);
        using var postgres = new PostgresDesignTimeFactory().CreateDbContext([]);
        Assert.Equal(Names(sqlite), Names(postgres));
    }
}
