using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using static ZapHub.Bench.BenchSupport;

namespace ZapHub.Bench;

/// <summary>
/// ZapHub as its own process, as in production: the Release build, on a throw-away SQLite directory or, with
/// BENCH_DB=postgres, a throw-away database on the server in ZAPHUB_TEST_POSTGRES (migrated first).
/// </summary>
public sealed class ZapHubServer : IAsyncDisposable
{
    public const string OperatorEmail = "admin@zaphub.local";
    public const string OperatorPassword = "Bench-Operator-1";

    private readonly Process process;
    private readonly DirectoryInfo data;
    private readonly string? database;
    private Dictionary<string, string> environment = [];
    private bool joined;

    public bool Postgres => database is not null;
    public HttpClient Api { get; }

    /// <summary>Another client of the same server with its own cookies (another person signed in).</summary>
    public HttpClient Client() =>
        new(new SocketsHttpHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false, MaxConnectionsPerServer = 64 }) { BaseAddress = Api.BaseAddress };

    /// <summary>One number from the server's PostgreSQL database (benchmarks count rows the API does not).</summary>
    public async Task<long> ScalarAsync(string sql)
    {
        if (database is null) throw new InvalidOperationException("Only on PostgreSQL (BENCH_DB=postgres).");
        var server = Environment.GetEnvironmentVariable("ZAPHUB_TEST_POSTGRES")!;
        await using var conn = new Npgsql.NpgsqlConnection(Regex.Replace(server, "Database=[^;]*", "Database=" + database));
        await conn.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(sql, conn);
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    /// <summary>CPU time the server process has used so far (user + system), from /proc.</summary>
    public double CpuSeconds()
    {
        var fields = File.ReadAllText($"/proc/{process.Id}/stat").Split(')')[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return (long.Parse(fields[11]) + long.Parse(fields[12])) / 100.0;
    }

    /// <summary>The server process's resident memory, from /proc.</summary>
    public double RssMegabytes() =>
        File.ReadLines($"/proc/{process.Id}/status").Where(l => l.StartsWith("VmRSS:")).Select(l => double.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024).First();

    private ZapHubServer(Process process, DirectoryInfo data, string? database, HttpClient api) => (this.process, this.data, this.database, Api) = (process, data, database, api);

    public static async Task<ZapHubServer> StartAsync(IReadOnlyDictionary<string, string>? settings = null)
    {
        var dll = Path.Combine(FindRoot(), "src/ZapHub/bin/Release/net10.0/ZapHub.dll");
        if (!File.Exists(dll)) throw new InvalidOperationException($"Build first: dotnet build -c Release ({dll} missing)");
        var data = Directory.CreateTempSubdirectory("zaphub-bench-");
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Production", ["Storage__DataDirectory"] = data.FullName, ["DataProtection__Certificate"] = BenchSupport.KeyCertificate(dll, data.FullName + "-keys"), ["Demo__Enabled"] = "false",
            ["Bootstrap__OperatorPassword"] = OperatorPassword, ["Logging__LogLevel__Default"] = "Warning",
            ["RateLimits__ApiPerSecond"] = "1000000", ["RateLimits__LoginPerMinute"] = "1000", ["RateLimits__GatewayWebhooksPerSecond"] = "10000000",
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string>()) environment[k] = v;
        string? database = null;
        if (Environment.GetEnvironmentVariable("BENCH_DB") == "postgres")
        {
            var server = Environment.GetEnvironmentVariable("ZAPHUB_TEST_POSTGRES") ?? throw new InvalidOperationException("Set ZAPHUB_TEST_POSTGRES (scripts/test-postgres.sh start).");
            database = "zaphub_bench_" + Guid.NewGuid().ToString("N")[..8];
            environment["Storage__Provider"] = "Postgres";
            environment["Storage__ConnectionString"] = Regex.Replace(server, "Database=[^;]*", "Database=" + database);
            await using (var conn = new Npgsql.NpgsqlConnection(server))
            {
                await conn.OpenAsync();
                await using var create = new Npgsql.NpgsqlCommand($"CREATE DATABASE \"{database}\"", conn);
                await create.ExecuteNonQueryAsync();
            }
            var migrate = Start(dll, ["migrate"], environment);
            await migrate.WaitForExitAsync();
            if (migrate.ExitCode != 0) throw new InvalidOperationException("zaphub migrate failed");
        }
        var port = FreePort();
        var process = Start(dll, ["--urls", $"http://127.0.0.1:{port}"], environment);
        var api = new HttpClient(new SocketsHttpHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false, MaxConnectionsPerServer = 64 })
            { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        for (var i = 0; i < 150 && !await Healthy(api); i++) await Task.Delay(200);
        return new ZapHubServer(process, data, database, api) { environment = environment };
    }

    /// <summary>
    /// Another node on the same PostgreSQL database (a cluster): same settings, its own port and data folder. Disposing
    /// it stops only this process; the first server drops the database.
    /// </summary>
    public async Task<ZapHubServer> JoinAsync()
    {
        if (database is null) throw new InvalidOperationException("Nodes share a database only on PostgreSQL (BENCH_DB=postgres).");
        var dll = Path.Combine(FindRoot(), "src/ZapHub/bin/Release/net10.0/ZapHub.dll");
        var data = Directory.CreateTempSubdirectory("zaphub-bench-");
        var own = new Dictionary<string, string>(environment) { ["Storage__DataDirectory"] = data.FullName };
        var port = FreePort();
        var process = Start(dll, ["--urls", $"http://127.0.0.1:{port}"], own);
        var api = new HttpClient(new SocketsHttpHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false, MaxConnectionsPerServer = 64 })
            { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        for (var i = 0; i < 150 && !await Healthy(api); i++) await Task.Delay(200);
        return new ZapHubServer(process, data, database, api) { environment = own, joined = true };
    }

    private static Process Start(string dll, string[] args, Dictionary<string, string> environment)
    {
        var info = new ProcessStartInfo("dotnet", [dll, .. args]) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(dll)! };
        foreach (var (k, v) in environment) info.Environment[k] = v;
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => { if (e.Data?.Contains("fail", StringComparison.OrdinalIgnoreCase) == true) Console.Error.WriteLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Console.Error.WriteLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    public async ValueTask DisposeAsync()
    {
        Api.Dispose();
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        try { data.Delete(true); } catch (IOException) { }
        if (database is null || joined) return;
        Npgsql.NpgsqlConnection.ClearAllPools();
        await using var conn = new Npgsql.NpgsqlConnection(Environment.GetEnvironmentVariable("ZAPHUB_TEST_POSTGRES")!);
        await conn.OpenAsync();
        await using var drop = new Npgsql.NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", conn);
        await drop.ExecuteNonQueryAsync();
    }
}
