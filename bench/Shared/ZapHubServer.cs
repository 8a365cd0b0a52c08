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

    public bool Postgres => database is not null;
    public HttpClient Api { get; }

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
        return new ZapHubServer(process, data, database, api);
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
        if (database is null) return;
        Npgsql.NpgsqlConnection.ClearAllPools();
        await using var conn = new Npgsql.NpgsqlConnection(Environment.GetEnvironmentVariable("ZAPHUB_TEST_POSTGRES")!);
        await conn.OpenAsync();
        await using var drop = new Npgsql.NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", conn);
        await drop.ExecuteNonQueryAsync();
    }
}
