using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using ZapHub.Data;

namespace ZapHub.Features.Backups;

/// <summary>
/// <c>zaphub backup FILE</c> and <c>zaphub restore FILE</c> for the embedded SQLite database. A backup is one read
/// transaction (<c>VACUUM INTO</c>): a consistent copy as of its start, taken while ZapHub keeps writing (WAL readers and
/// the writer do not wait for each other). It holds the key ring too, as stored: encrypted with the key-encryption
/// certificate, which is never in the backup and must be kept (and backed up) apart. PostgreSQL is backed up with its
/// own tools (docs/operations.md).
/// </summary>
public static class SqliteBackup
{
    public static async Task<int> BackupAsync(IServiceProvider services, string file)
    {
        var storage = services.GetRequiredService<IOptions<StorageOptions>>().Value;
        if (storage.Provider != StorageProvider.Sqlite) return Refuse("ZapHub stores its data in PostgreSQL here: back it up with pg_dump or base backups (docs/operations.md, \"Backups\").");
        var target = Path.GetFullPath(file);
        if (File.Exists(target)) return Refuse($"{target} exists already; choose a new file (a backup never overwrites one).");
        var source = new SqliteConnectionStringBuilder(storage.ResolveConnectionString()).DataSource;
        if (!File.Exists(source)) return Refuse($"There is no database at {source} (Storage:DataDirectory) to back up.");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var partial = target + ".partial";
        File.Delete(partial);

        await using (var connection = Open(source, SqliteOpenMode.ReadOnly))
        {
            await using var copy = connection.CreateCommand();
            copy.CommandText = "VACUUM INTO $target";
            copy.Parameters.AddWithValue("$target", partial);
            await copy.ExecuteNonQueryAsync();
        }
        if (await ProblemOfAsync(partial) is { } problem)
        {
            File.Delete(partial);
            return Refuse($"The copy did not check out ({problem}); nothing was written.");
        }
        File.Move(partial, target);
        Console.WriteLine($"Backed up {source} to {target} ({new FileInfo(target).Length:N0} bytes).");
        Console.WriteLine("The key ring is inside, encrypted with the key-encryption certificate, which is not: keep a copy of that certificate apart.");
        return 0;
    }

    public static async Task<int> RestoreAsync(IServiceProvider services, string file)
    {
        var storage = services.GetRequiredService<IOptions<StorageOptions>>().Value;
        if (storage.Provider != StorageProvider.Sqlite) return Refuse("ZapHub stores its data in PostgreSQL here: restore it with pg_restore (docs/operations.md, \"Backups\").");
        var backup = Path.GetFullPath(file);
        if (!File.Exists(backup)) return Refuse($"There is no backup at {backup}.");
        if (await ProblemOfAsync(backup) is { } problem) return Refuse($"{backup} is not a ZapHub backup that checks out: {problem}.");
        var target = new SqliteConnectionStringBuilder(storage.ResolveConnectionString()).DataSource;
        if (File.Exists(target))
            return Refuse($"A database already exists at {target}. Restore into an empty data folder (Storage:DataDirectory), or stop ZapHub and move that one aside first.");
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        // Copied under another name first: a database appears whole or not at all. ZapHub switches it to WAL when it opens it.
        File.Copy(backup, target + ".partial", overwrite: true);
        File.Move(target + ".partial", target);
        Console.WriteLine($"Restored {backup} to {target}. Start ZapHub with the same key-encryption certificate; it migrates the database if the backup is from an older version.");
        return 0;
    }

    /// <summary>Why the file is not a sound ZapHub database, or null.</summary>
    private static async Task<string?> ProblemOfAsync(string path)
    {
        try
        {
            await using var connection = Open(path, SqliteOpenMode.ReadOnly);
            await using var check = connection.CreateCommand();
            check.CommandText = "PRAGMA integrity_check";
            if (await check.ExecuteScalarAsync() is not "ok" and var result) return $"integrity check: {result}";
            check.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('__migrations', 'Tenants', 'DataProtectionKeys')";
            return Convert.ToInt32(await check.ExecuteScalarAsync()) == 3 ? null : "it has no ZapHub tables";
        }
        catch (SqliteException ex) { return ex.Message; }
    }

    private static SqliteConnection Open(string path, SqliteOpenMode mode)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = mode, Pooling = false, DefaultTimeout = 30 }.ToString());
        connection.Open();
        return connection;
    }

    private static int Refuse(string why)
    {
        Console.Error.WriteLine(why);
        return 1;
    }
}
