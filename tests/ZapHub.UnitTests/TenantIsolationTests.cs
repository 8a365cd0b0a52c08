using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using ZapHub.Data;
using ZapHub.Features.Tenancy;

namespace ZapHub.UnitTests;

/// <summary>The data layer's own guarantees, on a real in-memory SQLite database.</summary>
public sealed class TenantIsolationTests : IDisposable
{
    private readonly SqliteConnection connection = new("Data Source=:memory:");
    private readonly Guid tenantA, tenantB;

    public TenantIsolationTests()
    {
        connection.Open();
        using var db = Db(platform: true);
        db.Database.Migrate();
        var a = new Tenant { Name = "A", Slug = "a" };
        var b = new Tenant { Name = "B", Slug = "b" };
        db.Tenants.AddRange(a, b);
        db.ApiKeys.Add(new ApiKey { TenantId = a.Id, Name = "a-key", Prefix = "zh_aaaaaaaaaa", Hash = new byte[32], Scopes = "sessions:read" });
        db.ApiKeys.Add(new ApiKey { TenantId = b.Id, Name = "b-key", Prefix = "zh_bbbbbbbbbb", Hash = new byte[32], Scopes = "sessions:read" });
        db.SaveChanges();
        (tenantA, tenantB) = (a.Id, b.Id);
    }

    public void Dispose() => connection.Dispose();

    private SqliteZapHubDb Db(Guid? tenant = null, bool platform = false, bool worker = false)
    {
        var context = new TenantContext();
        if (tenant is { } id) context.Set(id, TenantRole.Owner);
        if (platform) context.UsePlatformScope();
        if (worker) context.UseWorkerScope();
        return (SqliteZapHubDb)new SqliteZapHubDb(new DbContextOptionsBuilder<SqliteZapHubDb>().UseSqlite(connection).Options).ActFor(context);
    }

    [Fact]
    public void QueriesSeeOnlyTheScopesTenant()
    {
        using var db = Db(tenantA);
        Assert.Equal(["a-key"], db.ApiKeys.Select(k => k.Name).ToList());
    }

    [Fact]
    public void WithoutATenantQueriesSeeNothing()
    {
        using var db = Db();
        Assert.Empty(db.ApiKeys.ToList());
    }

    [Fact]
    public void NewRowsTakeTheScopesTenant()
    {
        using (var db = Db(tenantA))
        {
            db.ApiKeys.Add(new ApiKey { Name = "new", Prefix = "zh_cccccccccc", Hash = new byte[32], Scopes = "x" });
            db.SaveChanges();
        }
        using var check = Db(tenantA);
        Assert.Contains("new", check.ApiKeys.Select(k => k.Name).ToList());
    }

    [Fact]
    public void WritingAnotherTenantsRowThrows()
    {
        using var db = Db(tenantA);
        db.ApiKeys.Add(new ApiKey { TenantId = tenantB, Name = "smuggled", Prefix = "zh_dddddddddd", Hash = new byte[32], Scopes = "x" });
        Assert.Throws<TenantIsolationException>(() => db.SaveChanges());
    }

    // ADR 0003's worker scope: group-committing jobs write many tenants' rows in one save, each checked on its own.

    [Fact]
    public void AWorkerWritesRowsOfSeveralTenantsInOneSave()
    {
        using (var db = Db(worker: true))
        {
            foreach (var key in db.ApiKeys.IgnoreQueryFilters([ZapHubDb.TenantFilter])) key.Name += "-seen";
            db.ApiKeys.Add(new ApiKey { TenantId = tenantA, Name = "a-new", Prefix = "zh_eeeeeeeeee", Hash = new byte[32], Scopes = "x" });
            db.ApiKeys.Add(new ApiKey { TenantId = tenantB, Name = "b-new", Prefix = "zh_ffffffffff", Hash = new byte[32], Scopes = "x" });
            db.SaveChanges();
        }
        using var a = Db(tenantA);
        Assert.Equal(["a-key-seen", "a-new"], a.ApiKeys.Select(k => k.Name).OrderBy(n => n).ToList());
    }

    [Fact]
    public void AWorkerCannotMoveARowToAnotherTenant()
    {
        using var db = Db(worker: true);
        var key = db.ApiKeys.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Single(k => k.TenantId == tenantA);
        key.TenantId = tenantB;
        Assert.Throws<TenantIsolationException>(() => db.SaveChanges());
    }

    [Fact]
    public void AWorkerCannotWriteARowWithoutATenant()
    {
        using var db = Db(worker: true);
        db.ApiKeys.Add(new ApiKey { Name = "orphan", Prefix = "zh_gggggggggg", Hash = new byte[32], Scopes = "x" });
        Assert.Throws<TenantIsolationException>(() => db.SaveChanges());
    }

    [Fact]
    public void MovingARowToAnotherTenantThrows()
    {
        using var db = Db(tenantA);
        var key = db.ApiKeys.Single();
        key.TenantId = tenantB;
        Assert.Throws<TenantIsolationException>(() => db.SaveChanges());
    }

    [Fact]
    public void WritingWithoutATenantThrowsUnlessThePlatformScopeIsDeclared()
    {
        using (var db = Db())
        {
            db.ApiKeys.Add(new ApiKey { TenantId = tenantA, Name = "x", Prefix = "zh_eeeeeeeeee", Hash = new byte[32], Scopes = "x" });
            Assert.Throws<TenantIsolationException>(() => db.SaveChanges());
        }
        using var platform = Db(platform: true);
        platform.ApiKeys.Add(new ApiKey { TenantId = tenantA, Name = "x", Prefix = "zh_ffffffffff", Hash = new byte[32], Scopes = "x" });
        platform.SaveChanges();
    }

    [Fact]
    public void AScopesTenantCannotChange()
    {
        var context = new TenantContext();
        context.Set(tenantA, TenantRole.Owner);
        Assert.Throws<InvalidOperationException>(() => context.Set(tenantB, TenantRole.Owner));
    }
}
