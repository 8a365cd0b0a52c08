// Gateway-webhook ingest on SQLite: events per second that ZapHub accepts and durably stores (a 200 means
// committed), against a bare Kestrel endpoint measured in the same run with the same load generator.
// Usage: dotnet run -c Release -- [seconds=10] [concurrency=64]
using static ZapHub.Bench.BenchSupport;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

var seconds = args.Length > 0 ? int.Parse(args[0]) : 10;
var concurrency = args.Length > 1 ? int.Parse(args[1]) : 64;
var root = FindRoot();
var zapHubDll = Path.Combine(root, "src/ZapHub/bin/Release/net10.0/ZapHub.dll");
if (!File.Exists(zapHubDll)) { Console.Error.WriteLine($"Build first: dotnet build -c Release ({zapHubDll} missing)"); return 1; }

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
        ["ASPNETCORE_ENVIRONMENT"] = "Production", ["Storage__DataDirectory"] = data.FullName, ["Demo__Enabled"] = "true",
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
    var callback = await PrepareSessionAsync(api);
    if (Environment.GetEnvironmentVariable("BENCH_HOLD") is { } hold)
    {
        // For an external load tool (wrk): print the target and keep ZapHub up for that many seconds.
        Console.WriteLine("CALLBACK " + callback);
        await Task.Delay(TimeSpan.FromSeconds(int.Parse(hold)));
        return 0;
    }
    Console.WriteLine($"ZapHub {baseUrl}, callback {callback[..60]}…; {seconds} s per run, {concurrency} concurrent senders");

    await RunAsync(bareUrl, 2, concurrency, "warm-up");
    var bareRate = await RunAsync(bareUrl, seconds, concurrency, "bare Kestrel");
    await RunAsync(callback, 2, concurrency, "warm-up");
    var before = await StoredAsync(api);
    var zapRate = await RunAsync(callback, seconds, concurrency, "ZapHub ingest");
    var stored = await StoredAsync(api) - before;

    Console.WriteLine();
    Console.WriteLine($"bare Kestrel endpoint : {bareRate.Rate,10:N0} requests/s");
    Console.WriteLine($"ZapHub webhook ingest : {zapRate.Rate,10:N0} events/s accepted and committed ({zapRate.Ok:N0} acknowledged, {stored:N0} found stored, {zapRate.Failed} failed)");
    Console.WriteLine($"ratio                 : {zapRate.Rate / bareRate.Rate:0.00} of the bare endpoint");
    Console.WriteLine($"durability            : {(stored == zapRate.Ok ? "every acknowledged event is in the database" : $"MISMATCH: {zapRate.Ok - stored} acknowledged events missing")}");
    return stored == zapRate.Ok ? 0 : 2;
}
finally
{
    zapHub.Kill(entireProcessTree: true);
    await zapHub.WaitForExitAsync();
    await bareApp.StopAsync();
    try { data.Delete(true); } catch (IOException) { }
}

static async Task<(double Rate, long Ok, long Failed)> RunAsync(string url, int seconds, int concurrency, string label)
{
    using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
    long ok = 0, failed = 0, sequence = 0;
    var stop = Stopwatch.StartNew();
    var until = TimeSpan.FromSeconds(seconds);
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        while (stop.Elapsed < until)
        {
            var n = Interlocked.Increment(ref sequence);
            // A real Evolution event shape; the time and id make each one distinct (no dedupe).
            var body = $$"""{"event":"messages.update","instance":"bench","data":{"keyId":"3EB0{{n:X16}}","remoteJid":"5511988887777@s.whatsapp.net","fromMe":true,"status":"DELIVERY_ACK"},"destination":"x","date_time":"{{DateTime.UtcNow:O}}","server_url":"http://127.0.0.1:8080","apikey":null}""";
            try
            {
                using var response = await http.PostAsync(url, new StringContent(body, Encoding.UTF8, "application/json"));
                if (response.IsSuccessStatusCode) Interlocked.Increment(ref ok); else Interlocked.Increment(ref failed);
            }
            catch (HttpRequestException) { Interlocked.Increment(ref failed); }
        }
    }));
    var rate = ok / stop.Elapsed.TotalSeconds;
    Console.WriteLine($"  {label,-14} {rate,10:N0}/s  ({ok:N0} ok, {failed} failed in {stop.Elapsed.TotalSeconds:0.0} s)");
    return (rate, ok, failed);
}

static async Task<string> PrepareSessionAsync(HttpClient api)
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
    return webhook.GetProperty("url").GetString()!;
}

static async Task<long> StoredAsync(HttpClient api) =>
    (await api.GetFromJsonAsync<JsonElement>("/api/v1/admin/gateway-events?limit=1")).GetProperty("total").GetInt64();
