using Microsoft.EntityFrameworkCore;
using Npgsql;
using ZapHub.Data;

namespace ZapHub.IntegrationTests.Infrastructure;

/// <summary>
/// One throw-away database per app instance. ZAPHUB_TEST_DB selects the provider (sqlite, the default, or
/// postgres); ZAPHUB_TEST_POSTGRES points at the server that the test script starts on loopback.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    public static bool IsPostgres => string.Equals(Environment.GetEnvironmentVariable("ZAPHUB_TEST_DB"), "postgres", StringComparison.OrdinalIgnoreCase);

    private static string ServerConnectionString =>
        Environment.GetEnvironmentVariable("ZAPHUB_TEST_POSTGRES") ?? "Host=127.0.0.1;Port=5433;Username=app;Password=app;Database=postgres";

    /// <summary>One key-encryption certificate for every app this test run starts, as every node of an install shares one.</summary>
    public static string KeyCertificate => SharedKeyCertificate.Value;

    private static readonly Lazy<string> SharedKeyCertificate = new(() =>
    {
        var path = Path.Combine(Path.GetTempPath(), "zaphub-tests", $"key-encryption-{Environment.ProcessId}-{Guid.NewGuid():N}.pfx");
        ZapHub.Data.KeyRingCertificates.Create(path).Dispose();
        return path;
    });

    public string Provider { get; }
    public string DataDirectory { get; }
    public string? ConnectionString { get; }
    private readonly string? databaseName;
    private string? server;

    private TestDatabase(string provider, string dataDirectory, string? connectionString, string? databaseName)
    {
        Provider = provider;
        DataDirectory = dataDirectory;
        ConnectionString = connectionString;
        this.databaseName = databaseName;
    }

    /// <summary>A throw-away embedded database, whichever database this run tests (for what only SQLite has: its backup command).</summary>
    public static TestDatabase CreateSqlite()
    {
        var dir = Path.Combine(Path.GetTempPath(), "zaphub-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return new TestDatabase("Sqlite", dir, null, null);
    }

    /// <summary>A throw-away database on the run's server; <paramref name="postgresServer"/> names another PostgreSQL server.</summary>
    public static TestDatabase Create(string? postgresServer = null)
    {
        var dir = Path.Combine(Path.GetTempPath(), "zaphub-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        if (!IsPostgres && postgresServer is null) return new TestDatabase("Sqlite", dir, null, null);

        var name = "zaphub_test_" + Guid.NewGuid().ToString("N")[..16];
        var cs = new NpgsqlConnectionStringBuilder(postgresServer ?? ServerConnectionString) { Database = name, Pooling = true }.ConnectionString;
        // The explicit migration step, as an operator runs `zaphub migrate` before starting nodes on PostgreSQL.
        using var db = new PostgresZapHubDb(new DbContextOptionsBuilder<PostgresZapHubDb>()
            .UseNpgsql(cs, o => o.MigrationsHistoryTable("__migrations")).Options);
        db.Database.Migrate();
        return new TestDatabase("Postgres", dir, cs, name) { server = postgresServer ?? ServerConnectionString };
    }

    /// <summary>
    /// The test's own reads go through connections apart from the app's pool (one process, one pool per connection
    /// string): a database restart must not break the test's reading, nor the test's reading hide the app's recovery.
    /// </summary>
    private string OwnConnectionString => new NpgsqlConnectionStringBuilder(ConnectionString) { Pooling = false }.ConnectionString;

    /// <summary>One number straight from the database, for what the API does not show (rows mid-send after a crash).</summary>
    public Task<long> CountAsync(string sqlWhereOnMessages) => ScalarAsync($"SELECT COUNT(*) FROM \"Messages\" WHERE {sqlWhereOnMessages}");

    public async Task<long> ScalarAsync(string sql)
    {
        if (ConnectionString is not null)
        {
            await using var pg = new NpgsqlConnection(OwnConnectionString);
            await pg.OpenAsync();
            await using var command = new NpgsqlCommand(sql, pg);
            return Convert.ToInt64(await command.ExecuteScalarAsync());
        }
        await using var sqlite = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(DataDirectory, "zaphub.db")}");
        await sqlite.OpenAsync();
        await using var query = sqlite.CreateCommand();
        query.CommandText = sql;
        return Convert.ToInt64(await query.ExecuteScalarAsync());
    }

    public Task<List<string>> TextsAsync(string sqlWhereOnMessages) => StringsAsync($"SELECT \"Text\" FROM \"Messages\" WHERE {sqlWhereOnMessages}");

    /// <summary>The first column of every row a query returns, as text.</summary>
    public async Task<List<string>> StringsAsync(string sql, params (string Name, object Value)[] parameters)
    {
        var texts = new List<string>();
        System.Data.Common.DbConnection connection = ConnectionString is not null
            ? new NpgsqlConnection(OwnConnectionString)
            : new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(DataDirectory, "zaphub.db")}");
        await using (connection)
        {
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (var (name, value) in parameters)
            {
                var parameter = command.CreateParameter();
                parameter.ParameterName = name;
                parameter.Value = value;
                command.Parameters.Add(parameter);
            }
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) texts.Add(reader.IsDBNull(0) ? "" : Convert.ToString(reader.GetValue(0))!);
        }
        return texts;
    }

    public async ValueTask DisposeAsync()
    {
        try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        if (databaseName is null) return;
        NpgsqlConnection.ClearAllPools();
        await using var conn = new NpgsqlConnection(server);
        await conn.OpenAsync();
        await using var cmd = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{databaseName}\" WITH (FORCE)", conn);
        // FORCE cannot end a backend of the server's own (an autovacuum worker that just started on the database):
        // wait for it and try again; the throw-away cluster goes away with the run anyway.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await cmd.ExecuteNonQueryAsync();
                return;
            }
            catch (PostgresException ex) when (ex.SqlState == PostgresErrorCodes.InsufficientPrivilege && attempt < 10)
            {
                await Task.Delay(200 * attempt);
            }
        }
    }
}
