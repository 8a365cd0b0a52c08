using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using ZapHub.Data;

namespace ZapHub.UnitTests;

/// <summary>
/// Only the database's own word makes a failure "storage unavailable" (503, try again). A parsing slip or an isolation
/// stop once read as a down database told gateways to retry a bad event forever.
/// </summary>
public class StorageFailureTests
{
    public static TheoryData<Exception> Unavailable => new()
    {
        new SqliteException("database is locked", 5),
        new SqliteException("database table is locked", 6),
        new SqliteException("disk I/O error", 10),
        new NpgsqlException("Exception while connecting", new System.Net.Sockets.SocketException(111)),
        new NpgsqlException("The operation has timed out", new TimeoutException()),
        new DbUpdateException("An error occurred while saving", new SqliteException("database is locked", 5)),
        new InvalidOperationException("An exception has been raised that is likely due to a transient failure.", new NpgsqlException("reset", new IOException())),
    };

    public static TheoryData<Exception> NotStorage => new()
    {
        new InvalidOperationException("Cannot get the value of a token type 'Number' as a string."),
        new TenantIsolationException("A Session of another tenant was written."),
        new SqliteException("UNIQUE constraint failed", 19),
        new DbUpdateException("An error occurred while saving", new SqliteException("FOREIGN KEY constraint failed", 19)),
        new System.Text.Json.JsonException("'0xC3' is an invalid start of a value."),
        new FormatException(),
    };

    [Theory]
    [MemberData(nameof(Unavailable))]
    public void TheDatabasesOwnTransientFailuresAreStorageUnavailable(Exception exception) => Assert.True(StorageFailure.Is(exception));

    [Theory]
    [MemberData(nameof(NotStorage))]
    public void EverythingElseIsNot(Exception exception) => Assert.False(StorageFailure.Is(exception));

    [Fact]
    public void AnIsolationStopIsNoInvalidOperation() => Assert.IsNotAssignableFrom<InvalidOperationException>(new TenantIsolationException("x"));
}
