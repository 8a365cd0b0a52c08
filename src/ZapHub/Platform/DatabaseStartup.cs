using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ZapHub.Data;

namespace ZapHub.Platform;

public static class DatabaseStartup
{
    /// <summary>
    /// The embedded SQLite default migrates itself. PostgreSQL is migrated by an explicit `zaphub migrate`, so a
    /// rolling upgrade never changes a shared schema by accident; a node started on an outdated schema refuses
    /// to run and says what to do.
    /// </summary>
    public static async Task PrepareDatabaseAsync(this WebApplication app)
    {
        var storage = app.Services.GetRequiredService<IOptions<StorageOptions>>().Value;
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        if (storage.Provider == StorageProvider.Sqlite)
        {
            await db.Database.MigrateAsync();
            OwnerOnly(storage);
        }
        else
        {
            var pending = (await db.Database.GetPendingMigrationsAsync()).ToList();
            if (pending.Count > 0)
                throw new StartupException(
                    $"The PostgreSQL schema is behind by {pending.Count} migration(s) ({string.Join(", ", pending)}). " +
                    "Run `zaphub migrate` (dotnet ZapHub.dll migrate) with the same configuration, then start again.");
        }
        var certificates = app.Services.GetRequiredService<KeyRingCertificates>();
        if (certificates.OthersCanRead())
            app.Logger.LogWarning("The key-encryption certificate {Path} is readable by other users; make it readable by ZapHub's user only (chmod 600).", certificates.Path);
        var moved = await KeyRingEncryption.ReencryptAsync(app.Services);
        if (moved > 0)
            app.Logger.LogInformation("Encrypted {Count} Data Protection key(s) with the current key-encryption certificate.", moved);
    }

    /// <summary>The embedded database and its folder are the owner's alone (SQLite creates files 644 by default).</summary>
    private static void OwnerOnly(StorageOptions storage)
    {
        if (OperatingSystem.IsWindows() || !string.IsNullOrWhiteSpace(storage.ConnectionString)) return;
        try
        {
            var directory = Path.GetFullPath(storage.DataDirectory);
            File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            foreach (var file in Directory.EnumerateFiles(directory, "zaphub.db*"))
                File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        catch (UnauthorizedAccessException) { } // Not the owner: whoever set the folder up chose its permissions.
    }

    public static async Task<int> MigrateAsync(this WebApplication app)
    {
        await using var scope = app.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        var pending = (await db.Database.GetPendingMigrationsAsync()).ToList();
        await db.Database.MigrateAsync();
        Console.WriteLine(pending.Count == 0 ? "The database is up to date." : $"Applied {pending.Count} migration(s): {string.Join(", ", pending)}");
        return 0;
    }
}

/// <summary>A start-up condition the operator must fix; printed as a plain message, not a stack trace.</summary>
public sealed class StartupException(string message) : Exception(message);
