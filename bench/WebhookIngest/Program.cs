// Gateway-webhook ingest on SQLite: events per second that ZapHub accepts and durably stores (a 200 means
// committed), against a bare Kestrel endpoint measured in the same run with the same load generator.
// The load generator is wrk (C, two threads): an HttpClient generator in .NET spends about as much CPU per request as
// the server it measures, and on two shared cores it would mostly measure itself.
// Usage: dotnet run -c Release -- [seconds=10] [connections=128] [warm-up seconds=10]
using static ZapHub.Bench.BenchSupport;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

var seconds = args.Length > 0 ? int.Parse(args[0]) : 10;
var connections = args.Length > 1 ? int.Parse(args[1]) : 128;
var warmUp = args.Length > 2 ? int.Parse(args[2]) : 10;
var root = FindRoot();
var zapHubDll = Path.Combine(root, "src/ZapHub/bin/Release/net10.0/ZapHub.dll");
if (!File.Exists(zapHubDll)) { Console.Error.WriteLine($"Build first: dotnet build -c Release ({zapHubDll} missing)"); return 1; }

// Each request a real Evolution event shape; a run number, wrk's thread number and a counter make every body distinct
// across runs too (no dedupe).
// done() prints what the run counted in a form this program reads.
var script = Path.Combine(Path.GetTempPath(), $"zaphub-ingest-{Environment.ProcessId}.lua");
File.WriteAllText(script, """
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/json"
    local threads, counter, run, instance = 0, 0, "", "bench"
    function setup(thread) thread:set("id", threads); threads = threads + 1 end
    function init(args) run = args[1]; instance = args[2] or "bench" end
    function request()
      counter = counter + 1
      return wrk.format(nil, nil, nil, string.format('{"event":"messages.update","instance":"%s","data":{"keyId":"3EB0%s%02d%012d","remoteJid":"5511988887777@s.whatsapp.net","fromMe":true,"status":"DELIVERY_ACK"},"destination":"x","date_time":"%s.%03dZ","server_url":"http://127.0.0.1:8080","apikey":null}', instance, run, id, counter, os.date("!%Y-%m-%dT%H:%M:%S"), counter % 1000))
    end
    function done(s, latency)
      io.write(string.format("RESULT %d %d %d %d %d %d %d\n", s.requests, s.errors.status, s.errors.connect + s.errors.read + s.errors.write, s.errors.timeout, s.duration, latency:percentile(50), latency:percentile(99)))
    end
    """);

// 1. Baseline: a bare Kestrel endpoint that reads the body and answers 200.
var bare = WebApplication.CreateSlimBuilder();
bare.Logging.ClearProviders();
bare.WebHost.UseUrls("http://127.0.0.1:0");
var bareApp = bare.Build();
bareApp.MapPost("/ingest", async (HttpRequest r) => { await r.Body.CopyToAsync(Stream.Null); return Results.Ok(); });
await bareApp.StartAsync();
var bareUrl = bareApp.Urls.First() + "/ingest";

// 2. ZapHub as its own process: SQLite in a temp folder, demo mode (built-in emulator), a known operator password.
var data = Directory.CreateTempSubdirectory("zaphub-bench-");
var port = FreePort();
var zapHub = Process.Start(new ProcessStartInfo("dotnet", [zapHubDll, "--urls", $"http://127.0.0.1:{port}"])
{
    RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(zapHubDll)!,
    Environment =
    {
        ["ASPNETCORE_ENVIRONMENT"] = "Production", ["Storage__DataDirectory"] = data.FullName, ["DataProtection__Certificate"] = KeyCertificate(zapHubDll, data.FullName + "-keys"), ["Demo__Enabled"] = "true",
        ["Bootstrap__OperatorPassword"] = "Bench-Operator-1", ["Logging__LogLevel__Default"] = "Warning",
        ["RateLimits__GatewayWebhooksPerSecond"] = "10000000", ["RateLimits__ApiPerSecond"] = "100000", ["RateLimits__LoginPerMinute"] = "1000",
        // BENCH_ROLES=web measures a receive-only node (workers elsewhere); the default runs everything in one process.
        ["Node__Roles__0"] = "web", ["Node__Roles__1"] = Environment.GetEnvironmentVariable("BENCH_ROLES") == "web" ? "" : "worker",
    },
})!;
zapHub.OutputDataReceived += (_, _) => { };
zapHub.ErrorDataReceived += (_, _) => { };
zapHub.BeginOutputReadLine();
zapHub.BeginErrorReadLine();
try
{
    var baseUrl = $"http://127.0.0.1:{port}";
    using var api = new HttpClient(new SocketsHttpHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = new Uri(baseUrl) };
    for (var i = 0; i < 100 && !await Healthy(api); i++) await Task.Delay(200);
    // Events name the session's own instance: ZapHub ignores events about another one.
    var (callback, instance) = await PrepareSessionAsync(api);
    if (Environment.GetEnvironmentVariable("BENCH_HOLD") is { } hold)
    {
        // For an external load tool (wrk): print the target and keep ZapHub up for that many seconds.
        Console.WriteLine("CALLBACK " + callback);
        await Task.Delay(TimeSpan.FromSeconds(int.Parse(hold)));
        return 0;
    }
    Console.WriteLine($"ZapHub {baseUrl}; wrk, 2 threads, {connections} connections; {warmUp} s warm-up then {seconds} s measured, each target");

    await RunAsync(bareUrl, instance, warmUp, connections, script, "warm-up");
    var bareRun = await RunAsync(bareUrl, instance, seconds, connections, script, "bare Kestrel");
    await RunAsync(callback, instance, warmUp, connections, script, "warm-up");
    var before = await StoredAsync(api);
    var zapRun = await RunAsync(callback, instance, seconds, connections, script, "ZapHub ingest");
    // A request wrk gave up on (timeout, dropped connection) may still have been committed: more stored is fine, less is not.
    var stored = await StoredAsync(api) - before;

    Console.WriteLine();
    Console.WriteLine($"bare Kestrel endpoint : {bareRun.Rate,10:N0} requests/s (p50 {bareRun.P50Ms:0.0} ms, p99 {bareRun.P99Ms:0.0} ms)");
    Console.WriteLine($"ZapHub webhook ingest : {zapRun.Rate,10:N0} events/s accepted and committed (p50 {zapRun.P50Ms:0.0} ms, p99 {zapRun.P99Ms:0.0} ms)");
    Console.WriteLine($"                        {zapRun.Ok:N0} acknowledged, {stored:N0} found stored, {zapRun.Failed:N0} failed or unanswered");
    Console.WriteLine($"ratio                 : {zapRun.Rate / bareRun.Rate:0.00} of the bare endpoint");
    Console.WriteLine($"durability            : {(stored >= zapRun.Ok ? "every acknowledged event is in the database" : $"MISMATCH: {zapRun.Ok - stored} acknowledged events missing")}");
    return stored >= zapRun.Ok ? 0 : 2;
}
finally
{
    zapHub.Kill(entireProcessTree: true);
    await zapHub.WaitForExitAsync();
    await bareApp.StopAsync();
    try { data.Delete(true); } catch (IOException) { }
}

static async Task<(double Rate, long Ok, long Failed, double P50Ms, double P99Ms)> RunAsync(string url, string instance, int seconds, int connections, string script, string label)
{
    var wrk = Process.Start(new ProcessStartInfo("wrk", ["-t2", $"-c{connections}", $"-d{seconds}s", "--timeout", "10s", "-s", script, url, "--", Guid.NewGuid().ToString("N")[..8], instance]) { RedirectStandardOutput = true })!;
    var output = await wrk.StandardOutput.ReadToEndAsync();
    await wrk.WaitForExitAsync();
    var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ")) ?? throw new InvalidOperationException("wrk printed no result:\n" + output);
    var n = line.Split(' ').Skip(1).Select(x => long.Parse(x, CultureInfo.InvariantCulture)).ToArray();
    var (requests, status, socket, timeouts, micros) = (n[0], n[1], n[2], n[3], n[4]);
    var ok = requests - status;
    var rate = ok / (micros / 1e6);
    Console.WriteLine($"  {label,-14} {rate,10:N0}/s  ({ok:N0} ok, {status} non-2xx, {socket} socket errors, {timeouts} timeouts in {micros / 1e6:0.0} s)");
    return (rate, ok, status + socket + timeouts, n[5] / 1000.0, n[6] / 1000.0);
}

static async Task<(string Callback, string Instance)> PrepareSessionAsync(HttpClient api)
{
    await SignInAsync(api, "admin@zaphub.local", "Bench-Operator-1");
    var tenant = await (await api.PostAsJsonAsync("/api/v1/admin/tenants", new { name = "Bench", slug = "bench", ownerEmail = "owner@bench.test" })).Content.ReadFromJsonAsync<JsonElement>();
    var ownerPassword = tenant.GetProperty("ownerOneTimePassword").GetString()!;
    await SignInAsync(api, "owner@bench.test", ownerPassword);
    var session = await (await api.PostAsJsonAsync("/api/v1/sessions", new { displayName = "Bench", kind = "Evolution" })).Content.ReadFromJsonAsync<JsonElement>();
    var id = session.GetProperty("id").GetString();
    (await api.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { })).EnsureSuccessStatusCode();
    // The callback URL (with its secret) is what ZapHub configured on the gateway: read it back from the emulator.
    var find = new HttpRequestMessage(HttpMethod.Get, $"/emulator/evolution/webhook/find/{session.GetProperty("instanceName").GetString()}");
    find.Headers.Add("apikey", "emulator-evolution-key");
    var webhook = await (await api.SendAsync(find)).Content.ReadFromJsonAsync<JsonElement>();
    await SignInAsync(api, "admin@zaphub.local", "Bench-Operator-1");
    return (webhook.GetProperty("url").GetString()!, session.GetProperty("instanceName").GetString()!);
}

static async Task<long> StoredAsync(HttpClient api) =>
    (await api.GetFromJsonAsync<JsonElement>("/api/v1/admin/gateway-events?limit=1")).GetProperty("total").GetInt64();
