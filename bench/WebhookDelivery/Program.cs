// Signed webhook deliveries per second from ZapHub's outbox to a local receiver that checks every signature, against
// the same receiver's raw intake (the same requests posted straight to it) measured in the same run.
//   1. outbox drain: N events already stored are queued at once (a replay) and delivered;
//   2. live: events made through the API one after another, each timed from the API's answer to the receiver.
// Usage: dotnet run -c Release -- [events=10000]      BENCH_DB=postgres with ZAPHUB_TEST_POSTGRES set
using static ZapHub.Bench.BenchSupport;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ZapHub.Bench;

var total = args.Length > 0 ? int.Parse(args[0]) : 10_000;

// The tenant's system: a bare Kestrel endpoint that verifies the Standard Webhooks signature of each request.
var arrivals = new ConcurrentDictionary<string, DateTimeOffset>();
long invalid = 0, requests = 0;
byte[]? key = null;
var receiverBuilder = WebApplication.CreateSlimBuilder();
receiverBuilder.Logging.ClearProviders();
receiverBuilder.WebHost.UseUrls("http://127.0.0.1:0");
var receiver = receiverBuilder.Build();
receiver.MapPost("/hook", async (HttpContext http) =>
{
    using var buffer = new MemoryStream();
    await http.Request.Body.CopyToAsync(buffer);
    var id = http.Request.Headers["webhook-id"].ToString();
    var timestamp = http.Request.Headers["webhook-timestamp"].ToString();
    byte[] signed = [.. Encoding.UTF8.GetBytes($"{id}.{timestamp}."), .. buffer.ToArray()];
    var expected = "v1," + Convert.ToBase64String(HMACSHA256.HashData(key!, signed));
    if (!http.Request.Headers["webhook-signature"].ToString().Split(' ').Any(s => CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(s), Encoding.ASCII.GetBytes(expected))))
        Interlocked.Increment(ref invalid);
    Interlocked.Increment(ref requests);
    arrivals.TryAdd(id, DateTimeOffset.UtcNow);
    return Results.NoContent();
});
await receiver.StartAsync();
var receiverUrl = receiver.Urls.First() + "/hook";

await using var zapHub = await ZapHubServer.StartAsync(new Dictionary<string, string> { ["Webhooks__AllowPrivateTargets"] = "true" });
var api = zapHub.Api;
try
{
    await SignInAsync(api, ZapHubServer.OperatorEmail, ZapHubServer.OperatorPassword);
    var tenant = await (await api.PostAsJsonAsync("/api/v1/admin/tenants", new { name = "Bench", slug = "bench", ownerEmail = "owner@bench.test" })).Content.ReadFromJsonAsync<JsonElement>();
    await SignInAsync(api, "owner@bench.test", tenant.GetProperty("ownerOneTimePassword").GetString()!);
    // Subscribed to nothing that happens yet: the events below are stored without deliveries, for the replay to queue at once.
    var created = await (await api.PostAsJsonAsync("/api/v1/webhooks", new { url = receiverUrl, eventTypes = new[] { "contact.opted_in" } })).Content.ReadFromJsonAsync<JsonElement>();
    var webhookId = created.GetProperty("endpoint").GetProperty("id").GetGuid();
    key = Convert.FromBase64String(created.GetProperty("secret").GetString()!["whsec_".Length..]);
    Console.WriteLine($"ZapHub on {(zapHub.Postgres ? "PostgreSQL" : "SQLite")}, {total:N0} events, one endpoint");

    var since = DateTime.UtcNow.AddSeconds(-1);
    var making = Stopwatch.StartNew();
    await Parallel.ForEachAsync(Enumerable.Range(0, total), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        (await api.PostAsJsonAsync("/api/v1/contacts", new { phone = $"55119{i:D8}", optedOut = true }, ct)).EnsureSuccessStatusCode());
    Console.WriteLine($"({total:N0} events made through the API in {making.Elapsed.TotalSeconds:0.0} s)");

    // 1. Baseline: the receiver's raw intake, the same kind of signed request posted straight to it, 64 at a time.
    var raw = await RawIntakeAsync(receiverUrl, key, total);
    arrivals.Clear();
    Interlocked.Exchange(ref requests, 0);

    // 2. Outbox drain: every event queued at once.
    (await api.PutAsJsonAsync($"/api/v1/webhooks/{webhookId}", new { url = receiverUrl, eventTypes = new[] { "contact.opted_out" } })).EnsureSuccessStatusCode();
    var clock = Stopwatch.StartNew();
    var replay = await api.PostAsJsonAsync($"/api/v1/webhooks/{webhookId}/replay", new { since });
    replay.EnsureSuccessStatusCode();
    var queuedIn = clock.Elapsed.TotalSeconds;
    while (arrivals.Count < total && clock.Elapsed < TimeSpan.FromMinutes(5)) await Task.Delay(10);
    var drain = arrivals.Count / clock.Elapsed.TotalSeconds;

    Console.WriteLine();
    Console.WriteLine($"receiver raw intake     : {raw,10:N0} requests/s");
    Console.WriteLine($"ZapHub signed deliveries: {drain,10:N0} deliveries/s  ({arrivals.Count:N0} delivered, {Interlocked.Read(ref requests) - arrivals.Count} twice, {Interlocked.Read(ref invalid)} bad signatures; replay queued in {queuedIn:0.00} s)");
    Console.WriteLine($"ratio                   : {drain / raw:0.00} of the receiver's raw intake");

    // 3. Live: each event timed from the API's answer to its arrival.
    const int live = 1000;
    arrivals.Clear();
    var answered = new ConcurrentDictionary<string, DateTimeOffset>();
    var phones = new ConcurrentDictionary<string, string>();
    clock.Restart();
    await Parallel.ForEachAsync(Enumerable.Range(0, live), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
    {
        (await api.PostAsJsonAsync("/api/v1/contacts", new { phone = $"551197{i:D7}", optedOut = true }, ct)).EnsureSuccessStatusCode();
        answered[$"+551197{i:D7}"] = DateTimeOffset.UtcNow;
    });
    while (arrivals.Count < live && clock.Elapsed < TimeSpan.FromMinutes(2)) await Task.Delay(10);
    var latencies = await LiveLatenciesAsync(api, arrivals, answered);
    Console.WriteLine($"live, {live:N0} events    : event answered by the API → at the receiver p50 {Percentile(latencies, 0.5):N0} ms, p95 {Percentile(latencies, 0.95):N0} ms");
    return arrivals.Count == live && Interlocked.Read(ref invalid) == 0 ? 0 : 2;
}
finally
{
    await receiver.StopAsync();
}

static async Task<double> RawIntakeAsync(string url, byte[] key, int total)
{
    using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 });
    var body = Encoding.UTF8.GetBytes("""{"type":"contact.opted_out","timestamp":"2026-11-22T10:00:00Z","data":{"contactId":"01a20566-44c7-7510-9f22-a5092ec8cd42","phone":"+5511900000000","name":null,"optedOut":true,"optOutText":"set by owner"}}""");
    long next = -1;
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, 64).Select(async _ =>
    {
        while (Interlocked.Increment(ref next) is var i && i < total)
        {
            var id = $"raw_{i}";
            var timestamp = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
            request.Content.Headers.ContentType = new("application/json");
            request.Headers.TryAddWithoutValidation("webhook-id", id);
            request.Headers.TryAddWithoutValidation("webhook-timestamp", timestamp.ToString());
            byte[] signed = [.. Encoding.UTF8.GetBytes($"{id}.{timestamp}."), .. body];
            request.Headers.TryAddWithoutValidation("webhook-signature", "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, signed)));
            (await client.SendAsync(request)).EnsureSuccessStatusCode();
        }
    }));
    return total / clock.Elapsed.TotalSeconds;
}

// The receiver knows events by id; the events list maps each id to its phone, and so to the time the API answered.
static async Task<List<double>> LiveLatenciesAsync(HttpClient api, ConcurrentDictionary<string, DateTimeOffset> arrivals, ConcurrentDictionary<string, DateTimeOffset> answered)
{
    var latencies = new List<double>();
    string? after = null;
    var all = new List<JsonElement>();
    while (true)
    {
        var page = await api.GetFromJsonAsync<JsonElement>($"/api/v1/events?limit=500&types=contact.opted_out{(after is null ? "" : "&after=" + after)}");
        var events = page.GetProperty("events").EnumerateArray().ToList();
        if (events.Count == 0) break;
        all.AddRange(events);
        after = page.GetProperty("last").GetString();
    }
    foreach (var e in all)
    {
        var phone = e.GetProperty("payload").GetProperty("data").GetProperty("phone").GetString()!;
        if (answered.TryGetValue(phone, out var at) && arrivals.TryGetValue(e.GetProperty("id").GetString()!, out var arrived))
            latencies.Add((arrived - at).TotalMilliseconds);
    }
    latencies.Sort();
    return latencies;
}
