// A cluster on one PostgreSQL database, with 1, 2 and 3 nodes: gateway-event ingest end to end (webhooks spread over the
// nodes as a load balancer would, until every event is applied) and messages end to end (accepted through the nodes'
// APIs until the gateway emulator received them), each with its ratio to one node measured in the same run.
// Usage: dotnet run -c Release -- [events=20000] [messages=5000] [nodes=1,2,3]     needs BENCH_DB=postgres and ZAPHUB_TEST_POSTGRES
using static ZapHub.Bench.BenchSupport;
using ZapHub.Bench;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using ZapHub.GatewayEmulator;

if (Environment.GetEnvironmentVariable("BENCH_DB") != "postgres") { Console.Error.WriteLine("A cluster needs PostgreSQL: BENCH_DB=postgres with ZAPHUB_TEST_POSTGRES set."); return 1; }
var eventCount = args.Length > 0 ? int.Parse(args[0]) : 20_000;
var messageCount = args.Length > 1 ? int.Parse(args[1]) : 5_000;
var sizes = (args.Length > 2 ? args[2] : "1,2,3").Split(',').Select(int.Parse).ToList();
const int numbers = 32;

await using var emulator = await EmulatorServer.StartAsync();
var emulatorUrl = emulator.Url;
var sentLog = emulator.Sent;
var gateway = emulator.Http;

var results = new List<(int Nodes, double Events, double Messages, double EventsPerCpu, double MessagesPerCpu)>();
foreach (var n in sizes)
{
    await using var first = await ZapHubServer.StartAsync();
    var nodes = new List<ZapHubServer> { first };
    for (var i = 1; i < n; i++) nodes.Add(await first.JoinAsync());
    try
    {
        var (apiKey, sessions) = await PrepareAsync(first.Api, gateway, emulatorUrl, numbers);
        // Let the nodes settle their shares of the work before measuring.
        await Task.Delay(TimeSpan.FromSeconds(8));
        var apis = nodes.Select(node =>
        {
            var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 }) { BaseAddress = node.Api.BaseAddress };
            client.DefaultRequestHeaders.Authorization = new("Bearer", apiKey);
            return client;
        }).ToList();
        // A first, unmeasured pass of each warms every node up (JIT tiers, pools): the first node alone did the set-up.
        await IngestAsync(nodes, sessions, eventCount / 4);
        sentLog.Clear();
        await SendAsync(apis, sentLog, sessions, messageCount / 4);
        double Cpu() => nodes.Sum(node => node.CpuSeconds());
        var cpu = Cpu();
        var events = await IngestAsync(nodes, sessions, eventCount);
        var eventsCpu = Cpu() - cpu;
        sentLog.Clear();
        cpu = Cpu();
        var messages = await SendAsync(apis, sentLog, sessions, messageCount);
        var messagesCpu = Cpu() - cpu;
        results.Add((n, events, messages, eventCount / eventsCpu, messageCount / messagesCpu));
        Console.WriteLine($"{n} node(s): {events,8:N0} gateway events/s applied, {messages,8:N0} messages/s sent; ZapHub CPU {eventsCpu:0.0} s and {messagesCpu:0.0} s");
    }
    finally
    {
        foreach (var node in nodes.Skip(1)) await node.DisposeAsync();
    }
}
Console.WriteLine();
Console.WriteLine($"{"nodes",5} | {"events/s end to end",20} | {"messages/s end to end",22} | {"events per ZapHub CPU-s",24} | {"messages per ZapHub CPU-s",26}");
foreach (var (n, e, m, ec, mc) in results)
    Console.WriteLine($"{n,5} | {e,10:N0} ({e / results[0].Events,4:0.00}x) | {m,12:N0} ({m / results[0].Messages,4:0.00}x) | " +
                      $"{ec,14:N0} ({ec / results[0].EventsPerCpu,4:0.00}x) | {mc,16:N0} ({mc / results[0].MessagesPerCpu,4:0.00}x)");
Console.WriteLine($"(all nodes, PostgreSQL, the emulator and this load generator share this machine's {Environment.ProcessorCount} cores)");
return 0;

// Customers' messages as Evolution posts them, spread round-robin over the nodes' webhook URLs; the clock stops when the
// last one is applied (its message stored), not when it is acknowledged.
static async Task<double> IngestAsync(List<ZapHubServer> nodes, List<Session> sessions, int total)
{
    var urls = sessions.Select(s => nodes.Select(n => new Uri(n.Api.BaseAddress!, new Uri(s.Callback).PathAndQuery)).ToList()).ToList();
    using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 64 });
    var run = Guid.NewGuid().ToString("N")[..6];
    const string applied = "SELECT COUNT(*) FROM \"GatewayEvents\" WHERE \"ProcessedAt\" IS NOT NULL";
    var before = await nodes[0].ScalarAsync(applied);
    var clock = Stopwatch.StartNew();
    long next = -1, failed = 0;
    await Task.WhenAll(Enumerable.Range(0, 32).Select(async _ =>
    {
        while (Interlocked.Increment(ref next) is var i && i < total)
        {
            var s = sessions[(int)(i % sessions.Count)];
            var body = new JsonObject
            {
                ["event"] = "messages.upsert", ["instance"] = s.Instance, ["date_time"] = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ"),
                ["data"] = new JsonObject
                {
                    ["key"] = new JsonObject { ["remoteJid"] = $"5521{9_0000_0000 + i % 5000}@s.whatsapp.net", ["fromMe"] = false, ["id"] = $"3A5F{run}{i:D10}" },
                    ["pushName"] = "Cliente", ["message"] = new JsonObject { ["conversation"] = $"oi {i}" }, ["messageType"] = "conversation",
                    ["messageTimestamp"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
                },
            };
            using var response = await client.PostAsync(urls[(int)(i % sessions.Count)][(int)(i / sessions.Count % nodes.Count)], new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
            if (!response.IsSuccessStatusCode) Interlocked.Increment(ref failed);
        }
    }));
    var accepted = clock.Elapsed.TotalSeconds;
    while (await nodes[0].ScalarAsync(applied) - before < total - failed && clock.Elapsed < TimeSpan.FromMinutes(10)) await Task.Delay(100);
    Console.WriteLine($"  ingest: {total:N0} posted in {accepted:0.0} s ({failed} refused), all applied after {clock.Elapsed.TotalSeconds:0.0} s");
    return (total - failed) / clock.Elapsed.TotalSeconds;
}

static async Task<double> SendAsync(List<HttpClient> apis, SentLog sentLog, List<Session> sessions, int total)
{
    var clock = Stopwatch.StartNew();
    long next = -1;
    await Task.WhenAll(Enumerable.Range(0, 32).Select(async _ =>
    {
        while (Interlocked.Increment(ref next) is var i && i < total)
            (await apis[(int)(i % apis.Count)].PostAsJsonAsync("/api/v1/messages", new { to = $"55119{8000 + i % 1000:D4}{1000 + i % 8999:D4}", text = $"c-{i}", route = "session", sessionId = sessions[(int)(i % sessions.Count)].Id })).EnsureSuccessStatusCode();
    }));
    while (sentLog.Count < total && clock.Elapsed < TimeSpan.FromMinutes(10)) await Task.Delay(20);
    Console.WriteLine($"  send: {sentLog.Count:N0} of {total:N0} received by the gateway after {clock.Elapsed.TotalSeconds:0.0} s ({sentLog.Count - sentLog.All.Select(m => m.Text).Distinct().Count()} twice)");
    return sentLog.Count / clock.Elapsed.TotalSeconds;
}

static async Task<(string ApiKey, List<Session> Sessions)> PrepareAsync(HttpClient api, HttpClient gateway, string emulatorUrl, int numbers)
{
    await SignInAsync(api, ZapHubServer.OperatorEmail, ZapHubServer.OperatorPassword);
    (await api.PostAsJsonAsync("/api/v1/admin/gateways", new { name = "emulator", kind = "Evolution", baseUrl = emulatorUrl.TrimEnd('/') + "/evolution", credentials = "bench-key", capacity = 1000 })).EnsureSuccessStatusCode();
    var slug = "bench-" + Guid.NewGuid().ToString("N")[..6];
    var tenant = await (await api.PostAsJsonAsync("/api/v1/admin/tenants", new { name = "Bench", slug, ownerEmail = $"owner@{slug}.test", maxSessions = 1000 })).Content.ReadFromJsonAsync<JsonElement>();
    await SignInAsync(api, $"owner@{slug}.test", tenant.GetProperty("ownerOneTimePassword").GetString()!);
    (await api.PutAsJsonAsync("/api/v1/messaging/settings", new
    {
        minGapMs = 0, jitterMs = 0, typingDelayMs = 0, quietFrom = (string?)null, quietUntil = (string?)null, warmupDays = 0, warmupFirstDayLimit = 50,
        failoverToOtherNumbers = false, holdMinutes = 60, inDoubt = "Hold", maxAttempts = 6, optOutKeywords = new[] { "SAIR" },
    })).EnsureSuccessStatusCode();
    var key = await (await api.PostAsJsonAsync("/api/v1/api-keys", new { name = "bench", scopes = new[] { "sessions:read", "messages:send" } })).Content.ReadFromJsonAsync<JsonElement>();
    var sessions = new List<Session>();
    for (var i = 0; i < numbers; i++)
    {
        var session = await (await api.PostAsJsonAsync("/api/v1/sessions", new { displayName = $"Número {i}" })).Content.ReadFromJsonAsync<JsonElement>();
        var id = session.GetProperty("id").GetGuid();
        var instance = session.GetProperty("instanceName").GetString()!;
        (await api.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { })).EnsureSuccessStatusCode();
        while (!(await gateway.PostAsJsonAsync($"/_emulator/evolution/{instance}/scan", new { phone = $"55119{i:D4}0001" })).IsSuccessStatusCode) await Task.Delay(50);
        while ((await api.GetFromJsonAsync<JsonElement>($"/api/v1/sessions/{id}")).GetProperty("state").GetString() != "Connected") await Task.Delay(50);
        // The callback URL (with its secret) is what ZapHub configured on the gateway: read it back from the emulator.
        var find = new HttpRequestMessage(HttpMethod.Get, $"/evolution/webhook/find/{instance}");
        find.Headers.Add("apikey", "bench-key");
        var webhook = await (await gateway.SendAsync(find)).Content.ReadFromJsonAsync<JsonElement>();
        sessions.Add(new Session(id, instance, webhook.GetProperty("url").GetString()!));
    }
    return (key.GetProperty("key").GetString()!, sessions);
}

internal sealed record Session(Guid Id, string Instance, string Callback);
