using System.Data.Common;
using System.Runtime.CompilerServices;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace ZapHub.Data;

/// <summary>
/// Per-connection SQLite settings. WAL with synchronous=NORMAL is SQLite's recommended pairing: a commit is
/// durable against the application crashing or being killed; only an OS crash or power loss can lose the last
/// commits, never corrupt the file. busy_timeout lets a writer wait for the lock instead of failing.
/// See docs/adr/0005-gateway-webhook-inbox.md.
/// EF Core opens a connection from the pool for every query; the settings stay with the pooled native connection, so
/// they are applied once per native connection, not once per query.
/// </summary>
public sealed class SqlitePragmas(string synchronous) : DbConnectionInterceptor
{
    private static readonly ConditionalWeakTable<object, object> Applied = new();

    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
    {
        if (!IsNew(connection, out var handle)) return;
        using var command = connection.CreateCommand();
        command.CommandText = SqlFor(connection);
        command.ExecuteNonQuery();
        Applied.AddOrUpdate(handle, this);
    }

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        if (!IsNew(connection, out var handle)) return;
        await using var command = connection.CreateCommand();
        command.CommandText = SqlFor(connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
        Applied.AddOrUpdate(handle, this);
    }

    private static bool IsNew(DbConnection connection, out object handle)
    {
        handle = (object?)(connection as SqliteConnection)?.Handle ?? connection;
        return !Applied.TryGetValue(handle, out _);
    }

    /// <summary>
    /// The journal mode is the file's, set by the first connection that may write: EF Core checks that the file exists
    /// through a read-only connection, and on a file not yet in WAL (a restored copy) switching it there fails.
    /// </summary>
    private string SqlFor(DbConnection connection) =>
        (new SqliteConnectionStringBuilder(connection.ConnectionString).Mode == SqliteOpenMode.ReadOnly ? "" : "PRAGMA journal_mode=WAL; ")
        + $"PRAGMA synchronous={synchronous}; PRAGMA busy_timeout=5000;";
}
