// How cost grows with the number of numbers on one node: the same figures at each size (default 100, then 10,000),
// over 20 emulated Evolution gateways (each its own loopback server): the reconciler's cycle time with every connected
// number due for a check, the process's RSS, p95 of a page of the operator's all-numbers list and of the tenant's list
// (the API; the console and dashboard pages run the same queries in their circuits, their HTML carries no rows), and
// webhook → state p95 while 200 numbers change state per second, read through the API and seen in the owner's
// dashboard in Chromium (the first card, flipped by webhooks while the others flip around it).
// Usage: dotnet run -c Release -- [sizes=100,10000] [gateways=20]      BENCH_DB=postgres with ZAPHUB_TEST_POSTGRES set
using static ZapHub.Bench.BenchSupport;
using ZapHub.Bench;
using Microsoft.Playwright;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;

var sizes = (args.Length > 0 ? args[0] : "100,10000").Split(',').Select(int.Parse).ToList();
var gatewayCount = args.Length > 1 ? int.Parse(args[1]) : 20;

var emulators = new List<EmulatorServer>();
for (var g = 0; g < gatewayCount; g++) emulators.Add(await EmulatorServer.StartAsync());

// Every connected number is due for a check at every pass: the reconciler's worst case.
await using var zapHub = await ZapHubServer.StartAsync(new Dictionary<string, string>
{
    // Only Development serves the dashboard's framework script from a build that is not published.
    ["ASPNETCORE_ENVIRONMENT"] = "Development", ["Logging__LogLevel__Default"] = "Warning",
    ["Sessions__SilenceThreshold"] = "00:00:01", ["Sessions__ReconcileInterval"] = "00:00:05", ["Sessions__TransitionalCheckInterval"] = "00:01:00",
    // Numbers flap on purpose below; the loop breaker must not stop them.
    ["Sessions__FlapLimit"] = "1000",
});
var op = zapHub.Client();
var tenantApi = zapHub.Api;
try
{
    await SignInAsync(op, ZapHubServer.OperatorEmail, ZapHubServer.OperatorPassword);
    var gateways = new List<(Guid Id, HttpClient Emulator)>();
    foreach (var emulator in emulators)
    {
        var g = await (await op.PostAsJsonAsync("/api/v1/admin/gateways", new { name = $"evolution {gateways.Count + 1:D2}", kind = "Evolution", baseUrl = emulator.Url.TrimEnd('/') + "/evolution", credentials = EmulatorServer.EvolutionKey, capacity = 1000 })).Content.ReadFromJsonAsync<JsonElement>();
        gateways.Add((g.GetProperty("id").GetGuid(), emulator.Http));
    }
    var metricsKey = (await (await op.PostAsJsonAsync("/api/v1/admin/platform-keys", new { name = "bench", scopes = new[] { "metrics:read" } })).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
    var tenant = await (await op.PostAsJsonAsync("/api/v1/admin/tenants", new { name = "Bench", slug = "bench", ownerEmail = "owner@bench.test", maxSessions = 10_000 })).Content.ReadFromJsonAsync<JsonElement>();
    var ownerPassword = tenant.GetProperty("ownerOneTimePassword").GetString()!;
    await SignInAsync(tenantApi, "owner@bench.test", ownerPassword);
    var emulatorOf = gateways.ToDictionary(g => g.Id, g => g.Emulator);
    using var playwright = await Playwright.CreateAsync();
    await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = "/usr/bin/chromium", Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"] });
    var dashboard = await (await browser.NewContextAsync(new() { BaseURL = tenantApi.BaseAddress!.ToString() })).NewPageAsync();
    await dashboard.GotoAsync("/login");
    await dashboard.Locator("input[name=Email]").FillAsync("owner@bench.test");
    await dashboard.Locator("input[name=Password]").FillAsync(ownerPassword);
    await dashboard.Locator("form button[type=submit]").ClickAsync();
    await dashboard.WaitForLoadStateAsync(LoadState.NetworkIdle);

    var numbers = new List<(Guid Id, string Instance, HttpClient Emulator)>();
    var rows = new List<Row>();
    foreach (var size in sizes)
    {
        var clock = Stopwatch.StartNew();
        await GrowAsync(tenantApi, emulatorOf, numbers, size);
        Console.WriteLine($"{size:N0} numbers connected ({clock.Elapsed.TotalSeconds:0} s to add the last {size - (rows.LastOrDefault()?.Size ?? 0):N0})");
        var cycle = await ReconcilerCycleAsync(zapHub, metricsKey);
        var rss = zapHub.RssMegabytes();
        var pages = (size + 49) / 50;
        var operatorApi = await P95Async(op, n => $"/api/v1/admin/sessions?page={1 + n * 37 % pages}&pageSize=50", 60);
        var tenantList = await P95Async(tenantApi, n => $"/api/v1/sessions?page={1 + n * 37 % pages}&pageSize=50", 60);
        // 200 numbers a second, or a third of them where there are fewer than 600 (each number's drop and scan must not
        // overlap); meanwhile the first number (the first card) is flipped by webhooks and watched in the dashboard.
        var firstCard = (await tenantApi.GetFromJsonAsync<JsonElement>("/api/v1/sessions?pageSize=1"))[0];
        var watched = numbers.Single(n => n.Id == firstCard.GetProperty("id").GetGuid());
        var background = FlipLatencyAsync(tenantApi, numbers.Where(n => n != watched).ToList(), Math.Min(200, size / 3), TimeSpan.FromSeconds(20));
        var dom = await DashboardLatencyAsync(dashboard, watched.Instance, watched.Emulator, 40);
        var flips = await background;
        var row = new Row(size, cycle, rss, operatorApi, tenantList, flips, dom);
        rows.Add(row);
        Console.WriteLine(row);
    }

    Console.WriteLine();
    Console.WriteLine($"{"numbers",8} | {"reconciler cycle",17} | {"RSS",8} | {"operator list p95",17} | {"tenant list p95",15} | {"webhook→state p95",18} | {"webhook→dashboard p95",22}");
    var first = rows[0];
    foreach (var r in rows)
        Console.WriteLine($"{r.Size,8:N0} | {r.CycleMs,11:N0} ms {r.CycleMs / first.CycleMs,4:0.0}x | {r.RssMb,5:N0} MB | " +
                          $"{r.OperatorApiMs,8:N0} ms {r.OperatorApiMs / first.OperatorApiMs,5:0.0}x | {r.TenantApiMs,6:N0} ms {r.TenantApiMs / first.TenantApiMs,5:0.0}x | {r.FlipP95Ms,9:N0} ms {r.FlipP95Ms / first.FlipP95Ms,5:0.0}x | {r.DomP95Ms,13:N0} ms {r.DomP95Ms / first.DomP95Ms,5:0.0}x");
    Console.WriteLine($"(ratios are to the {first.Size:N0}-number row measured in the same run; {gatewayCount} gateways; {(zapHub.Postgres ? "PostgreSQL" : "SQLite")})");
    return 0;
}
finally
{
    foreach (var e in emulators) await e.DisposeAsync();
}

// Adds numbers until there are `size`, 16 at a time: create, connect, scan on its gateway's emulator; then waits until all read Connected.
static async Task GrowAsync(HttpClient api, Dictionary<Guid, HttpClient> emulators, List<(Guid, string, HttpClient)> numbers, int size)
{
    var next = numbers.Count - 1;
    var added = new System.Collections.Concurrent.ConcurrentBag<(Guid, string, HttpClient)>();
    await Task.WhenAll(Enumerable.Range(0, 16).Select(async _ =>
    {
        while (Interlocked.Increment(ref next) is var i && i < size)
        {
            var session = await (await api.PostAsJsonAsync("/api/v1/sessions", new { displayName = $"Número {i:D5}" })).Content.ReadFromJsonAsync<JsonElement>();
            var id = session.GetProperty("id").GetGuid();
            var instance = session.GetProperty("instanceName").GetString()!;
            var emulator = emulators[session.GetProperty("gatewayId").GetGuid()];
            (await api.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { })).EnsureSuccessStatusCode();
            for (var attempt = 0; !(await emulator.PostAsJsonAsync($"/_emulator/evolution/{instance}/scan", new { phone = $"5511{9_0000_0000 + i}" })).IsSuccessStatusCode; attempt++)
            {
                if (attempt > 100) throw new TimeoutException($"{instance} never became scannable");
                await Task.Delay(50);
            }
            added.Add((id, instance, emulator));
        }
    }));
    numbers.AddRange(added);
    for (var i = 0; await Total(api, "/api/v1/sessions?state=Connected&pageSize=1") < size; i++)
    {
        if (i > 1200) throw new TimeoutException("numbers did not all connect in 10 minutes");
        await Task.Delay(500);
    }
}

static async Task<int> Total(HttpClient api, string url)
{
    using var response = await api.GetAsync(url);
    response.EnsureSuccessStatusCode();
    return int.Parse(response.Headers.GetValues("X-Total-Count").First());
}

// The mean pass time over 30 s, from ZapHub's own histogram (zaphub_reconciler_cycle_duration_seconds), after a first pass has run.
static async Task<double> ReconcilerCycleAsync(ZapHubServer zapHub, string key)
{
    using var metrics = zapHub.Client();
    metrics.DefaultRequestHeaders.Authorization = new("Bearer", key);
    async Task<(double Sum, double Count)> Read()
    {
        var text = await metrics.GetStringAsync("/metrics");
        double Value(string name) => Regex.Matches(text, $@"^{name}(\{{[^}}]*\}})? ([0-9.eE+-]+)$", RegexOptions.Multiline).Sum(m => double.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture));
        return (Value("zaphub_reconciler_cycle_duration_seconds_sum"), Value("zaphub_reconciler_cycle_duration_seconds_count"));
    }
    await Task.Delay(TimeSpan.FromSeconds(12));
    var before = await Read();
    await Task.Delay(TimeSpan.FromSeconds(30));
    var after = await Read();
    return after.Count > before.Count ? (after.Sum - before.Sum) / (after.Count - before.Count) * 1000 : double.NaN;
}

static async Task<double> P95Async(HttpClient client, Func<int, string> url, int requests)
{
    (await client.GetAsync(url(0))).EnsureSuccessStatusCode();
    var times = new List<double>();
    for (var n = 0; n < requests; n++)
    {
        var clock = Stopwatch.StartNew();
        using var response = await client.GetAsync(url(n));
        await response.Content.ReadAsByteArrayAsync();
        response.EnsureSuccessStatusCode();
        times.Add(clock.Elapsed.TotalMilliseconds);
    }
    times.Sort();
    return Percentile(times, 0.95);
}

// `perSecond` numbers a second lose their connection (the emulator posts connection.update connecting/408, a drop) and
// are scanned again two seconds later; for one in ten, the time from the emulator's webhook call to the number's row
// reading changed through the API (its updatedAt moves when ZapHub applies the event).
static async Task<double> FlipLatencyAsync(HttpClient api, List<(Guid Id, string Instance, HttpClient Emulator)> numbers, int perSecond, TimeSpan duration)
{
    var latencies = new System.Collections.Concurrent.ConcurrentBag<double>();
    var clock = Stopwatch.StartNew();
    var tasks = new List<Task>();
    var k = 0;
    while (clock.Elapsed < duration)
    {
        var tick = Stopwatch.StartNew();
        for (var j = 0; j < Math.Max(1, perSecond / 10); j++)
        {
            var (id, instance, emulator) = numbers[k++ % numbers.Count];
            var sampled = k % 10 == 0;
            tasks.Add(Task.Run(async () =>
            {
                var before = sampled ? (await api.GetFromJsonAsync<JsonElement>($"/api/v1/sessions/{id}")).GetProperty("updatedAt").GetString() : null;
                (await emulator.PostAsync($"/_emulator/evolution/{instance}/drop", null)).EnsureSuccessStatusCode();
                var sent = Stopwatch.StartNew();
                if (sampled)
                {
                    while ((await api.GetFromJsonAsync<JsonElement>($"/api/v1/sessions/{id}")).GetProperty("updatedAt").GetString() == before && sent.Elapsed < TimeSpan.FromSeconds(30))
                        await Task.Delay(10);
                    latencies.Add(sent.Elapsed.TotalMilliseconds);
                }
                await Task.Delay(TimeSpan.FromSeconds(2));
                await emulator.PostAsJsonAsync($"/_emulator/evolution/{instance}/scan", new { });
            }));
        }
        var rest = TimeSpan.FromMilliseconds(100) - tick.Elapsed;
        if (rest > TimeSpan.Zero) await Task.Delay(rest);
    }
    await Task.WhenAll(tasks);
    // Every number back to Connected before the next measurement.
    await Task.Delay(TimeSpan.FromSeconds(3));
    var sorted = latencies.Order().ToList();
    return sorted.Count == 0 ? double.NaN : Percentile(sorted, 0.95);
}

// The owner's WhatsApp page in Chromium (BadgeLatency): webhook POST → the first card's badge shows it, p95.
static async Task<double> DashboardLatencyAsync(IPage page, string instance, HttpClient emulator, int transitions)
{
    var find = new HttpRequestMessage(HttpMethod.Get, $"/evolution/webhook/find/{instance}");
    find.Headers.Add("apikey", EmulatorServer.EvolutionKey);
    var callback = (await (await emulator.SendAsync(find)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("url").GetString()!;
    var latencies = await BadgeLatency.MeasureAsync(page, callback, instance, "5511900000000@s.whatsapp.net", transitions);
    return Percentile(latencies, 0.95);
}

internal sealed record Row(int Size, double CycleMs, double RssMb, double OperatorApiMs, double TenantApiMs, double FlipP95Ms, double DomP95Ms);
