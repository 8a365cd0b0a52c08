using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using ZapHub.IntegrationTests.Infrastructure;

namespace ZapHub.IntegrationTests;

/// <summary>
/// Docker is not on these machines, so the Compose file's ZapHub is proven without it: the published app, started with
/// exactly the environment of deploy/Dockerfile and deploy/compose.yaml (only hosts, ports, the password and the
/// certificate's path mapped to this machine), against a new PostgreSQL database. It refuses an unmigrated schema, the
/// Compose file's migrate command prepares it, and it comes up healthy by the image's own health check, logs JSON,
/// serves the dashboard, and serves metrics on the private port only.
/// </summary>
[Trait("Category", "PostgresOnly")]
public partial class DeploymentTests
{
    [Fact]
    public async Task TheComposeFilesZapHubMigratesStartsHealthyAndServesTheDashboard()
    {
        var root = ZapHubProcess.RepositoryRoot();
        var work = Path.Combine(Path.GetTempPath(), "zaphub-tests", "deploy-" + Guid.NewGuid().ToString("N")[..8]);
        var app = Path.Combine(work, "app");
        try
        {
            var (code, output) = await RunAsync("dotnet", ["publish", Path.Combine(root, "src", "ZapHub"), "-c", "Release", "--no-build", "-o", app, "--nologo", "-v", "q"], [], TimeSpan.FromMinutes(5));
            Assert.True(code == 0, output);
            var zaphub = Path.Combine(app, "ZapHub.dll");

            // The certificate, as the Compose file's instructions make it.
            var certificate = Path.Combine(work, "secrets", "key-encryption.pfx");
            Directory.CreateDirectory(Path.GetDirectoryName(certificate)!);
            (code, output) = await RunAsync("dotnet", [zaphub, "create-key-certificate", certificate], [], TimeSpan.FromMinutes(1));
            Assert.True(code == 0, output);

            var server = new NpgsqlConnectionStringBuilder(Environment.GetEnvironmentVariable("ZAPHUB_TEST_POSTGRES") ?? "Host=127.0.0.1;Port=5433;Username=app;Password=app;Database=postgres");
            var database = "zaphub_compose_" + Guid.NewGuid().ToString("N")[..10];
            await using (var connection = new NpgsqlConnection(server.ConnectionString))
            {
                await connection.OpenAsync();
                await new NpgsqlCommand($"CREATE DATABASE \"{database}\"", connection).ExecuteNonQueryAsync();
            }
            var (webPort, metricsPort) = (ZapHubProcess.FreePort(), ZapHubProcess.FreePort());
            var environment = ComposeEnvironment(root, new()
            {
                ["${POSTGRES_PASSWORD}"] = server.Password!,
                ["/run/secrets/key-encryption"] = certificate,
                ["/data"] = Path.Combine(work, "data"),
                ["8080"] = $"{webPort}",
                ["9464"] = $"{metricsPort}",
            });
            // The database server is this machine's, not the Compose network's "postgres".
            var cs = new NpgsqlConnectionStringBuilder(environment["Storage__ConnectionString"])
            {
                Host = server.Host, Port = server.Port, Username = server.Username, Database = database,
            };
            Assert.Equal(server.Password, cs.Password);
            environment["Storage__ConnectionString"] = cs.ConnectionString;
            Assert.Equal("Postgres", environment["Storage__Provider"]);
            Assert.DoesNotContain("ASPNETCORE_ENVIRONMENT", environment.Keys);

            // Not migrated: a node refuses to start, and says what to run.
            (code, output) = await RunAsync("dotnet", [zaphub], environment, TimeSpan.FromMinutes(2));
            Assert.NotEqual(0, code);
            Assert.Contains("migrate", output);

            // The Compose file's migrate step.
            var migrate = MigrateCommand(root);
            (code, output) = await RunAsync("dotnet", [zaphub, .. migrate], environment, TimeSpan.FromMinutes(2));
            Assert.True(code == 0, output);

            var logs = new List<string>();
            using var node = Start(zaphub, environment, logs);
            try
            {
                // Healthy by the image's own HEALTHCHECK command.
                var health = HealthCheck(root);
                var started = Stopwatch.StartNew();
                while (true)
                {
                    (code, _) = await RunAsync("dotnet", [zaphub, .. health.Select(a => a.Replace(":8080", $":{webPort}"))], [], TimeSpan.FromMinutes(1));
                    if (code == 0) break;
                    Assert.False(node.HasExited, "ZapHub stopped:\n" + string.Join('\n', logs));
                    Assert.True(started.Elapsed < TimeSpan.FromMinutes(2), "not healthy within 2 minutes:\n" + string.Join('\n', logs));
                    await Task.Delay(500);
                }

                using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = new Uri($"http://127.0.0.1:{webPort}") };
                var login = await http.GetAsync("/login");
                Assert.Equal(HttpStatusCode.OK, login.StatusCode);
                Assert.Contains("ZapHub", await login.Content.ReadAsStringAsync());
                Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/metrics")).StatusCode);
                using var scraper = new HttpClient();
                var metrics = await scraper.GetAsync($"http://127.0.0.1:{metricsPort}/metrics");
                Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
                Assert.Contains("zaphub_numbers_daily_limit_use", await metrics.Content.ReadAsStringAsync());

                // Outside Development the console speaks JSON, one object a line; the first start prints the operator's login.
                string[] lines;
                lock (logs) lines = [.. logs.Where(l => l.StartsWith('{'))];
                Assert.NotEmpty(lines);
                foreach (var line in lines) Assert.True(JsonDocument.Parse(line).RootElement.TryGetProperty("Category", out _), line);
                lock (logs) Assert.Contains(logs, l => l.Contains("admin@zaphub.local"));
            }
            finally
            {
                node.Kill(entireProcessTree: true);
                await node.WaitForExitAsync();
            }
            NpgsqlConnection.ClearAllPools();
            await using (var connection = new NpgsqlConnection(server.ConnectionString))
            {
                await connection.OpenAsync();
                await new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)", connection).ExecuteNonQueryAsync();
            }
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>
    /// The Dockerfile's ENV, then the Compose file's x-zaphub-environment block over it, with ${VAR:-default} read as its
    /// default, and <paramref name="local"/>'s mappings to this machine applied to the values.
    /// </summary>
    private static Dictionary<string, string> ComposeEnvironment(string root, Dictionary<string, string> local)
    {
        var environment = new Dictionary<string, string>();
        foreach (Match m in DockerEnv().Matches(File.ReadAllText(Path.Combine(root, "deploy", "Dockerfile"))))
            environment[m.Groups[1].Value] = m.Groups[2].Value;
        var compose = File.ReadAllLines(Path.Combine(root, "deploy", "compose.yaml"));
        var block = compose.SkipWhile(l => !l.StartsWith("x-zaphub-environment:", StringComparison.Ordinal)).Skip(1).TakeWhile(l => l.StartsWith("  ", StringComparison.Ordinal));
        foreach (var line in block)
        {
            var m = ComposeVariable().Match(line);
            Assert.True(m.Success, "not a KEY: \"value\" line: " + line);
            environment[m.Groups[1].Value] = m.Groups[2].Value;
        }
        foreach (var key in environment.Keys.ToList())
        {
            var value = Defaults().Replace(environment[key], d => d.Groups[1].Value);
            foreach (var (from, to) in local) value = value.Replace(from, to);
            Assert.DoesNotContain("${", value);
            environment[key] = value;
        }
        return environment;
    }

    private static string[] MigrateCommand(string root) =>
        JsonSerializer.Deserialize<string[]>(Regex.Match(File.ReadAllText(Path.Combine(root, "deploy", "compose.yaml")), @"zaphub-migrate:[\s\S]*?command: (\[.*\])").Groups[1].Value)!;

    /// <summary>The Dockerfile's HEALTHCHECK command, without "dotnet /app/ZapHub.dll".</summary>
    private static string[] HealthCheck(string root) =>
        JsonSerializer.Deserialize<string[]>(Regex.Match(File.ReadAllText(Path.Combine(root, "deploy", "Dockerfile")), @"HEALTHCHECK .*CMD (\[.*\])").Groups[1].Value)![2..];

    private static Process Start(string zaphub, Dictionary<string, string> environment, List<string> logs)
    {
        var info = Info("dotnet", [zaphub], environment);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, e) => { if (e.Data is { } l) lock (logs) logs.Add(l); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { } l) lock (logs) logs.Add(l); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task<(int Code, string Output)> RunAsync(string file, string[] args, Dictionary<string, string> environment, TimeSpan limit)
    {
        using var process = Process.Start(Info(file, args, environment))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        try { await process.WaitForExitAsync().WaitAsync(limit); }
        catch (TimeoutException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>
    /// A clean environment: nothing of the test run's own settings leaks into the app. Run from the app's folder, as the
    /// image's WORKDIR and the service unit's WorkingDirectory do (appsettings.json is read from there).
    /// </summary>
    private static ProcessStartInfo Info(string file, string[] args, Dictionary<string, string> environment)
    {
        var folder = args.FirstOrDefault(a => a.EndsWith("ZapHub.dll", StringComparison.Ordinal)) is { } dll ? Path.GetDirectoryName(dll)! : Path.GetTempPath();
        var info = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = folder };
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || k.StartsWith("DOTNET_ENVIRONMENT", StringComparison.Ordinal) || k.StartsWith("ZAPHUB_", StringComparison.Ordinal)).ToList())
            info.Environment.Remove(key);
        foreach (var (key, value) in environment) info.Environment[key] = value;
        return info;
    }

    [GeneratedRegex(@"^\s*(?:ENV\s+)?([A-Za-z_][A-Za-z0-9_]*)=(\S+?)\s*\\?$", RegexOptions.Multiline)]
    private static partial Regex DockerEnv();

    [GeneratedRegex(@"^  ([A-Za-z_][A-Za-z0-9_]*): ""(.*)""\s*$")]
    private static partial Regex ComposeVariable();

    [GeneratedRegex(@"\$\{[A-Z_]+:-([^}]*)\}")]
    private static partial Regex Defaults();
}
