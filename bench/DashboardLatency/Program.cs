// Time from a gateway webhook reaching ZapHub to the browser's DOM showing the new state, in a real Chromium,
// over N transitions (Connected ↔ Disconnected). Prints p50 and p95.
// Usage: dotnet run -c Release -- [transitions=120]
using static ZapHub.Bench.BenchSupport;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using ZapHub.Bench;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;

var transitions = args.Length > 0 ? int.Parse(args[0]) : 120;
var root = new DirectoryInfo(AppContext.BaseDirectory);
while (root is not null && !File.Exists(Path.Combine(root.FullName, "ZapHub.sln"))) root = root.Parent;
// Published output: outside Development only a published app serves the dashboard's framework script.
var zapHubDll = Path.Combine(root!.FullName, "artifacts/zaphub/ZapHub.dll");
var data = Directory.CreateTempSubdirectory("zaphub-latency-");
var port = FreePort();
var baseUrl = $"http://127.0.0.1:{port}";
using var zapHub = Process.Start(new ProcessStartInfo("dotnet", [zapHubDll, "--urls", baseUrl])
{
    RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.GetDirectoryName(zapHubDll)!,
    Environment =
    {
        ["ASPNETCORE_ENVIRONMENT"] = "Production", ["Storage__DataDirectory"] = data.FullName, ["DataProtection__Certificate"] = KeyCertificate(zapHubDll, data.FullName + "-keys"), ["Demo__Enabled"] = "true",
        ["Bootstrap__OperatorPassword"] = "Bench-Operator-1", ["Logging__LogLevel__Default"] = "Warning",
        // The benchmark flaps one number on purpose; the loop breaker must not stop it.
        ["Sessions__FlapLimit"] = "1000", ["Sessions__FlapWindow"] = "00:00:01", ["RateLimits__LoginPerMinute"] = "1000", ["RateLimits__ApiPerSecond"] = "1000",
    },
})!;
zapHub.OutputDataReceived += (_, _) => { };
zapHub.ErrorDataReceived += (_, _) => { };
zapHub.BeginOutputReadLine();
zapHub.BeginErrorReadLine();
try
{
    using var api = new HttpClient(new SocketsHttpHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = new Uri(baseUrl) };
    for (var i = 0; i < 100; i++) { try { if ((await api.GetAsync("/health/ready")).IsSuccessStatusCode) break; } catch (HttpRequestException) { } await Task.Delay(200); }

    await SignInAsync(api, "admin@zaphub.local", "Bench-Operator-1");
    var tenant = await (await api.PostAsJsonAsync("/api/v1/admin/tenants", new { name = "Latency", slug = "latency", ownerEmail = "owner@latency.test" })).Content.ReadFromJsonAsync<JsonElement>();
    var password = tenant.GetProperty("ownerOneTimePassword").GetString()!;
    await SignInAsync(api, "owner@latency.test", password);
    var session = await (await api.PostAsJsonAsync("/api/v1/sessions", new { displayName = "Medida", kind = "Evolution" })).Content.ReadFromJsonAsync<JsonElement>();
    var id = session.GetProperty("id").GetString();
    var instance = session.GetProperty("instanceName").GetString()!;
    (await api.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { })).EnsureSuccessStatusCode();
    var find = new HttpRequestMessage(HttpMethod.Get, $"/emulator/evolution/webhook/find/{instance}");
    find.Headers.Add("apikey", "emulator-evolution-key");
    var callback = (await (await api.SendAsync(find)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("url").GetString()!;

    using var playwright = await Playwright.CreateAsync();
    await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = "/usr/bin/chromium", Headless = true,
        Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"] });
    var page = await (await browser.NewContextAsync(new() { BaseURL = baseUrl })).NewPageAsync();
    await page.GotoAsync("/login");
    await page.Locator("input[name=Email]").FillAsync("owner@latency.test");
    await page.Locator("input[name=Password]").FillAsync(password);
    await page.Locator("form button[type=submit]").ClickAsync();
    await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
    var latencies = await BadgeLatency.MeasureAsync(page, callback, instance, "5511999990001@s.whatsapp.net", transitions);
    double P(double q) => latencies[(int)Math.Ceiling(q * latencies.Count) - 1];
    Console.WriteLine($"{latencies.Count} transitions, webhook POST → DOM: p50 {P(0.50):0} ms, p95 {P(0.95):0} ms, max {latencies[^1]:0} ms");
    return 0;
}
finally
{
    zapHub.Kill(entireProcessTree: true);
    try { data.Delete(true); } catch (IOException) { }
}
