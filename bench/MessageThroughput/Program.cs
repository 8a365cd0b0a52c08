// End-to-end message throughput: 10,000 messages accepted by ZapHub's API and received by the gateway emulator,
// across 50 connected numbers with pacing off, against the emulator's own raw intake rate measured in the same run;
// once sent one message per request, once through the batch endpoint.
// Then a pacing check: with a gap configured, no two sends of one number closer than the gap.
// Usage: dotnet run -c Release -- [messages=10000] [numbers=50]      BENCH_DB=postgres with ZAPHUB_TEST_POSTGRES set
using static ZapHub.Bench.BenchSupport;
using ZapHub.Bench;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using ZapHub.GatewayEmulator;

var total = args.Length > 0 ? int.Parse(args[0]) : 10_000;
var numbers = args.Length > 1 ? int.Parse(args[1]) : 50;

// The gateway: the emulator on its own loopback port, as a real gateway server would be.
await using var emulator = await EmulatorServer.StartAsync();
var emulatorUrl = emulator.Url;
var sentLog = emulator.Sent;
var gateway = emulator.Http;

await using var zapHub = await ZapHubServer.StartAsync();
var postgres = zapHub.Postgres;
var api = zapHub.Api;
var sessions = await PrepareAsync(api, gateway, emulatorUrl, numbers);
Console.WriteLine($"ZapHub on {(postgres ? "PostgreSQL" : "SQLite")}, {numbers} connected numbers, {total:N0} messages, pacing off");

// 1. Baseline: the emulator's raw intake, the same sends posted straight to it with the same concurrency.
var instances = sessions.Select(s => s.Instance).ToList();
var raw = await RawIntakeAsync(gateway, instances, total);
sentLog.Clear();

// 2. ZapHub end to end: accepted (202) → received by the gateway, first one message per request (32 at a time), then
// the batch endpoint (100 messages per request, 4 at a time). A first pass of the same size per mode (BENCH_WARMUPS
// passes, default 1) warms ZapHub up (the JIT's tiers, connection pools, SQLite's page cache) and is not counted.
var warmups = int.Parse(Environment.GetEnvironmentVariable("BENCH_WARMUPS") ?? "1");
var modes = new[] { (Name: "one per request", Batch: 1, Concurrency: 32), (Name: "batches of 100", Batch: 100, Concurrency: 4) };
var runs = new List<(string Mode, Pass Pass)>();
foreach (var mode in modes)
{
    for (var pass = 0; pass < warmups; pass++) await EndToEndAsync(api, sentLog, sessions, total, mode.Batch, mode.Concurrency, $"warm{mode.Batch}");
    runs.Add((mode.Name, await EndToEndAsync(api, sentLog, sessions, total, mode.Batch, mode.Concurrency, $"bench{mode.Batch}")));
}

Console.WriteLine();
Console.WriteLine($"emulator raw intake       : {raw,10:N0} messages/s");
foreach (var (mode, p) in runs)
{
    Console.WriteLine($"ZapHub, {mode,-18}: {p.Rate,10:N0} messages/s end to end  ({p.Received:N0} received, {p.Duplicates} twice; API accepted all in {p.AcceptSeconds:0.0} s = {total / p.AcceptSeconds:N0}/s)");
    Console.WriteLine($"  latency accepted→gateway: p50 {Percentile(p.LatenciesMs, 0.50):N0} ms, p95 {Percentile(p.LatenciesMs, 0.95):N0} ms, max {p.LatenciesMs.LastOrDefault():N0} ms; ratio {p.Rate / raw:0.00} of the emulator's raw intake");
}

// 3. Pacing on: 5 numbers, 10 messages each, 200 ms gap (+ up to 100 ms jitter).
const int gapMs = 200;
await api.PutAsJsonAsync("/api/v1/messaging/settings", Settings(gapMs, 100));
sentLog.Clear();
var paced = sessions.Take(5).ToList();
for (var i = 0; i < 50; i++)
    (await api.PostAsJsonAsync("/api/v1/messages", new { to = $"5511988{i:D2}7777", text = $"paced-{i}", route = "session", sessionId = paced[i % paced.Count].Id })).EnsureSuccessStatusCode();
var clock = Stopwatch.StartNew();
while (sentLog.Count < 50 && clock.Elapsed < TimeSpan.FromMinutes(2)) await Task.Delay(20);
var minGap = sentLog.All.GroupBy(m => m.Instance)
    .SelectMany(g => g.OrderBy(m => m.At).Zip(g.OrderBy(m => m.At).Skip(1), (a, b) => (b.At - a.At).TotalMilliseconds)).DefaultIfEmpty(double.NaN).Min();
Console.WriteLine($"pacing on ({gapMs} ms gap)  : smallest gap between two sends of one number {minGap:N0} ms → {(minGap >= gapMs ? "holds" : "VIOLATED")}");
return runs.All(r => r.Pass.Received == total && r.Pass.Duplicates == 0) && minGap >= gapMs ? 0 : 2;

static async Task<Pass> EndToEndAsync(
    HttpClient api, SentLog sentLog, IReadOnlyList<(Guid Id, string Instance)> sessions, int total, int batch, int concurrency, string prefix)
{
    sentLog.Clear();
    var accepted = new ConcurrentDictionary<string, DateTimeOffset>();
    var clock = Stopwatch.StartNew();
    var start = DateTimeOffset.UtcNow;
    object Message(int i) => new { to = $"55119{8000 + i % 1000:D4}{1000 + i % 8999:D4}", text = $"{prefix}-{i}", route = "session", sessionId = sessions[i % sessions.Count].Id };
    long next = -1;
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        while (Interlocked.Add(ref next, batch) - batch + 1 is var first && first < total)
        {
            var indexes = Enumerable.Range((int)first, (int)Math.Min(batch, total - first)).ToList();
            var response = batch == 1
                ? await api.PostAsJsonAsync("/api/v1/messages", Message(indexes[0]))
                : await api.PostAsJsonAsync("/api/v1/messages/batch", new { messages = indexes.Select(Message) });
            var ok = batch == 1 ? response.StatusCode == HttpStatusCode.Accepted
                : response.StatusCode == HttpStatusCode.OK && (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("accepted").GetInt32() == indexes.Count;
            if (!ok) throw new InvalidOperationException($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            var at = DateTimeOffset.UtcNow;
            foreach (var i in indexes) accepted[$"{prefix}-{i}"] = at;
        }
    }));
    var acceptSeconds = clock.Elapsed.TotalSeconds;
    while (sentLog.Count < total && clock.Elapsed < TimeSpan.FromMinutes(10)) await Task.Delay(20);
    var received = sentLog.All.Where(m => m.Text?.StartsWith(prefix + "-") == true).ToList();
    var latencies = received.Where(m => accepted.ContainsKey(m.Text!)).Select(m => (m.At - accepted[m.Text!]).TotalMilliseconds).Order().ToList();
    var rate = received.Count / (received.Max(m => m.At) - start).TotalSeconds;
    Console.WriteLine($"  {prefix,-8} {rate,8:N0} messages/s end to end ({received.Count:N0} of {total:N0} received)");
    return new Pass(rate, acceptSeconds, received.Count, received.Count - received.Select(m => m.Text).Distinct().Count(), latencies);
}

static object Settings(int gapMs, int jitterMs) => new
{
    minGapMs = gapMs, jitterMs, typingDelayMs = 0, quietFrom = (string?)null, quietUntil = (string?)null, warmupDays = 0, warmupFirstDayLimit = 50,
    failoverToOtherNumbers = false, holdMinutes = 60, inDoubt = "Hold", maxAttempts = 6, optOutKeywords = new[] { "SAIR" },
};

static async Task<double> RawIntakeAsync(HttpClient gateway, List<string> instances, int total)
{
    long next = -1;
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, 32).Select(async _ =>
    {
        while (Interlocked.Increment(ref next) is var i && i < total)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/evolution/message/sendText/{instances[(int)(i % instances.Count)]}")
                { Content = JsonContent.Create(new { number = $"55119{8000 + i % 1000:D4}{1000 + i % 8999:D4}", text = $"raw-{i}" }) };
            request.Headers.Add("apikey", "bench-key");
            (await gateway.SendAsync(request)).EnsureSuccessStatusCode();
        }
    }));
    return total / clock.Elapsed.TotalSeconds;
}

static async Task<List<(Guid Id, string Instance)>> PrepareAsync(HttpClient api, HttpClient gateway, string emulatorUrl, int numbers)
{
    await SignInAsync(api, ZapHubServer.OperatorEmail, ZapHubServer.OperatorPassword);
    (await api.PostAsJsonAsync("/api/v1/admin/gateways", new { name = "emulator", kind = "Evolution", baseUrl = emulatorUrl.TrimEnd('/') + "/evolution", credentials = "bench-key", capacity = 1000 })).EnsureSuccessStatusCode();
    var tenant = await (await api.PostAsJsonAsync("/api/v1/admin/tenants", new { name = "Bench", slug = "bench", ownerEmail = "owner@bench.test", maxSessions = 1000 })).Content.ReadFromJsonAsync<JsonElement>();
    await SignInAsync(api, "owner@bench.test", tenant.GetProperty("ownerOneTimePassword").GetString()!);
    (await api.PutAsJsonAsync("/api/v1/messaging/settings", Settings(0, 0))).EnsureSuccessStatusCode();
    var sessions = new List<(Guid, string)>();
    for (var i = 0; i < numbers; i++)
    {
        var session = await (await api.PostAsJsonAsync("/api/v1/sessions", new { displayName = $"Número {i}" })).Content.ReadFromJsonAsync<JsonElement>();
        var id = session.GetProperty("id").GetGuid();
        var instance = session.GetProperty("instanceName").GetString()!;
        (await api.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { })).EnsureSuccessStatusCode();
        await Until(async () => (await api.GetFromJsonAsync<JsonElement>($"/api/v1/sessions/{id}")).GetProperty("state").GetString() == "AwaitingScan");
        (await gateway.PostAsJsonAsync($"/_emulator/evolution/{instance}/scan", new { phone = $"55119{i:D4}0001" })).EnsureSuccessStatusCode();
        await Until(async () => (await api.GetFromJsonAsync<JsonElement>($"/api/v1/sessions/{id}")).GetProperty("state").GetString() == "Connected");
        sessions.Add((id, instance));
    }
    return sessions;
}

static async Task Until(Func<Task<bool>> condition)
{
    for (var i = 0; i < 300; i++)
    {
        if (await condition()) return;
        await Task.Delay(50);
    }
    throw new TimeoutException("The emulator or ZapHub did not get there in 15 s.");
}

internal sealed record Pass(double Rate, double AcceptSeconds, int Received, int Duplicates, List<double> LatenciesMs);
