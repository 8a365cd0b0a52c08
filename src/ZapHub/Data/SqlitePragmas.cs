using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace ZapHub.Data;

/// <summary>
/// Per-connection SQLite settings. WAL with synchronous=NORMAL is SQLite's recommended pairing: a commit is
/// durable against the application crashing or being killed; only an OS crash or power loss can lose the last
/// commits, never corrupt the file. busy_timeout lets a writer wait for the lock instead of failing.
/// See docs/adr/0005-gateway-webhook-inbox.md.
/// </summary>
public sealed class SqlitePragmas(string synchronous) : DbConnectionInterceptor
{
    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

    public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = Sql;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private void Apply(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = Sql;
        command.ExecuteNonQuery();
    }

    private string Sql => $"PRAGMA journal_mode=WAL; PRAGMA synchronous={synchronous}; PRAGMA busy_timeout=5000;";
}
