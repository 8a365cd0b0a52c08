using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using ZapHub.Data;

namespace ZapHub.UnitTests;

/// <summary>
/// A database file not in WAL mode — a copy made by `VACUUM INTO`, by sqlite3's `.backup`, or by hand — still opens:
/// EF Core checks that a file exists through a read-only connection, where switching the journal mode would be a write.
/// </summary>
public sealed class SqlitePragmasTests : IDisposable
{
    private readonly string file = Path.Combine(Path.GetTempPath(), $"zaphub-pragmas-{Guid.NewGuid():N}.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        foreach (var f in new[] { file, file + "-wal", file + "-shm" }) File.Delete(f);
    }

    [Fact]
    public void ADatabaseInRollbackJournalModeOpensAndIsSwitchedToWal()
    {
        using (var setup = new SqliteConnection($"Data Source={file};Pooling=false"))
        {
            setup.Open();
            using var command = setup.CreateCommand();
            command.CommandText = "PRAGMA journal_mode=DELETE; CREATE TABLE t (x INTEGER);";
            command.ExecuteNonQuery();
        }
        using var db = new SqliteZapHubDb(new DbContextOptionsBuilder<SqliteZapHubDb>()
            .UseSqlite($"Data Source={file}").AddInterceptors(new SqlitePragmas("NORMAL")).Options);

        Assert.True(db.GetService<IRelationalDatabaseCreator>().Exists());
        Assert.Equal("wal", db.Database.SqlQueryRaw<string>("PRAGMA journal_mode").AsEnumerable().Single());
    }
}
