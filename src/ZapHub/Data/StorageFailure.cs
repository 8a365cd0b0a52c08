using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace ZapHub.Data;

/// <summary>
/// Tells "the database cannot be reached or is busy right now" (answer 503, try again) apart from everything else,
/// which is a fault in the request (4xx) or a bug (500). Only the database's own exceptions say so; a general
/// <see cref="InvalidOperationException"/> never does.
/// </summary>
public static class StorageFailure
{
    public static bool Is(Exception exception) => exception switch
    {
        // SQLITE_BUSY, LOCKED, IOERR, FULL, CANTOPEN: another process holds the file, or the disk does not answer.
        SqliteException sqlite => sqlite.SqliteErrorCode is 5 or 6 or 10 or 13 or 14,
        // Npgsql marks network failures, timeouts and the server's "cannot take you now" SQLSTATEs as transient.
        DbException db => db.IsTransient,
        // EF Core wraps a failed save or connection open; the cause decides.
        { InnerException: { } inner } => Is(inner),
        _ => false,
    };
}
