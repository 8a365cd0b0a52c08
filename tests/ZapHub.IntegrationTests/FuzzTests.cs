using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ZapHub.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace ZapHub.IntegrationTests;

/// <summary>
/// Everything that faces the world without a signed-in person — the gateway webhooks of both providers, sign-in and the
/// other account forms, the language switch, the event stream — and the JSON API a tenant's system calls, fed malformed,
/// truncated, oversized, deeply nested, invalid-UTF-8 and wrongly typed input. Only 4xx (or the page's normal answer)
/// may come back, every 4xx from the API and the webhooks is a ProblemDetails, nothing is stored for a wrong secret, and
/// the app stays healthy and keeps working.
/// </summary>
public class FuzzTests(ITestOutputHelper output)
{
    private const int MaxWebhookBytes = 65536;

    [Fact]
    public async Task HostileInputGetsOnly4xxStoresNothingForABadSecretAndLeavesTheAppWorking()
    {
        await using var emulator = await EmulatorHost.StartAsync();
        await using var app = new ZapHubApp().With("Gateways:MaxWebhookBytes", MaxWebhookBytes.ToString()).With("RateLimits:GatewayWebhooksPerSecond", "1000000");
        app.ServeOverKestrel();
        await app.RegisterEmulatorAsync(emulator);
        var t = await app.CreateTenantAsync();
        await t.SettingsAsync();
        var (_, key) = await t.CreateApiKeyAsync("sessions:read", "sessions:control", "messages:send");
        var evolution = await ProvisionedAsync(t, emulator, "evolution", "Evolution");
        var wpp = await ProvisionedAsync(t, emulator, "wppconnect", "WppConnect");
        var storedBefore = await InboxTotalAsync(app);

        var random = new Random(20261202);
        var anonymous = app.Anonymous();
        var api = app.WithApiKey(key);
        var cases = new List<(string Route, bool BadSecret, Func<HttpRequestMessage> Build, HttpClient Client)>();
        foreach (var body in Bodies(random))
        {
            foreach (var (name, path, instance) in new[] { ("evolution webhook", evolution.Path, evolution.Instance), ("wppconnect webhook", wpp.Path + "/status-find", wpp.Instance) })
            {
                var bytes = body(instance);
                cases.Add((name, false, () => Post(path, bytes), anonymous));
                cases.Add((name + " (wrong secret)", true, () => Post(WrongSecret(path), bytes), anonymous));
            }
            var raw = body("x");
            cases.Add(("sign-in", false, () => Post("/account/login", raw, "application/x-www-form-urlencoded"), anonymous));
            cases.Add(("sign-in (JSON)", false, () => Post("/account/login", raw), anonymous));
            cases.Add(("sign-out", false, () => Post("/account/logout", raw, "application/x-www-form-urlencoded"), anonymous));
            cases.Add(("password form", false, () => Post("/account/password", raw, "multipart/form-data; boundary=zz"), anonymous));
            cases.Add(("send message", false, () => Post("/api/v1/messages", raw), api));
            cases.Add(("add number", false, () => Post("/api/v1/sessions", raw), api));
            cases.Add(("connect number", false, () => Post($"/api/v1/sessions/{evolution.Id}/connect", raw), api));
        }
        foreach (var junk in Junk(random))
        {
            cases.Add(("event stream", false, () => new HttpRequestMessage(HttpMethod.Get, $"/api/v1/events/stream?types={junk}&lastEventId={junk}"), anonymous));
            cases.Add(("language switch", false, () => new HttpRequestMessage(HttpMethod.Get, $"/culture/{junk}?returnUrl={junk}"), anonymous));
            cases.Add(("sign-in page", false, () => new HttpRequestMessage(HttpMethod.Get, $"/login?returnUrl={junk}&error={junk}"), anonymous));
            cases.Add(("webhook route", false, () => new HttpRequestMessage(HttpMethod.Post, $"/hooks/gateway/{junk}/{junk}"), anonymous));
        }

        var throttle = new SemaphoreSlim(16);
        var results = await Task.WhenAll(cases.Select(async c =>
        {
            await throttle.WaitAsync();
            try
            {
                using var response = await c.Client.SendAsync(c.Build());
                var problem = response.Content.Headers.ContentType?.MediaType == "application/problem+json";
                return (c.Route, c.BadSecret, Status: (int)response.StatusCode, Problem: problem);
            }
            finally { throttle.Release(); }
        }));

        output.WriteLine($"{results.Length} requests:");
        foreach (var group in results.GroupBy(r => (r.Route, r.Status)).OrderBy(g => g.Key.Route).ThenBy(g => g.Key.Status))
            output.WriteLine($"  {group.Key.Route,-30} {group.Key.Status}: {group.Count()}");

        Assert.All(results, r => Assert.InRange(r.Status, 200, 499));
        Assert.All(results.Where(r => r.BadSecret), r => Assert.Equal(404, r.Status));
        // (A path Kestrel cannot decode is refused by the server itself, before any route: a bare 400.)
        Assert.All(results.Where(r => r.Status >= 400 && r.Status != 404 && (r.Route.EndsWith(" webhook") || r.Route.StartsWith("sign-") || r.Route is "send message" or "add number" or "connect number")),
            r => Assert.True(r.Problem, $"{r.Route} answered {r.Status} without a ProblemDetails body"));

        // Nothing came in through a wrong secret; the right ones stored what was JSON, and the processor survived all of it.
        var inbox = await Http.JsonAsync(await (await app.OperatorAsync()).GetAsync("/api/v1/admin/gateway-events?limit=1000"), HttpStatusCode.OK);
        var storedByFuzz = inbox.GetProperty("total").GetInt32() - storedBefore;
        var accepted = results.Count(r => r.Route.Contains("webhook") && !r.BadSecret && r.Status == 200);
        Assert.InRange(storedByFuzz, 0, accepted + 20);
        Assert.Equal("Healthy", await app.Anonymous().GetStringAsync("/health/ready"));
        foreach (var (provider, number) in new[] { ("evolution", evolution), ("wppconnect", wpp) })
        {
            await Http.ExpectAsync(await emulator.ScanAsync(provider, number.Instance), HttpStatusCode.OK);
            await t.WaitForStateAsync(number.Id, "Connected");
        }
        var message = await t.SendAsync(new { to = "(11) 98888-7777", text = "Ainda funcionando", sessionId = evolution.Id });
        await t.WaitForMessageAsync(message, "Sent");
    }

    private sealed record Number(Guid Id, string Instance, string Path);

    private static async Task<Number> ProvisionedAsync(TestTenant t, EmulatorHost emulator, string provider, string kind)
    {
        var created = await t.CreateSessionAsync(kind, kind);
        var id = created.GetProperty("id").GetGuid();
        var instance = created.GetProperty("instanceName").GetString()!;
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.Accepted);
        await t.WaitForStateAsync(id, "AwaitingScan");
        var webhook = (await emulator.InspectAsync(provider, instance)).GetProperty("webhook").GetString()!;
        var path = new Uri(webhook).AbsolutePath;
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return new Number(id, instance, "/" + string.Join('/', segments.Take(Array.IndexOf(segments, "gateway") + 3)));
    }

    private static async Task<int> InboxTotalAsync(ZapHubApp app) =>
        (await Http.JsonAsync(await (await app.OperatorAsync()).GetAsync("/api/v1/admin/gateway-events?limit=1"), HttpStatusCode.OK)).GetProperty("total").GetInt32();

    private static string WrongSecret(string path)
    {
        var segments = path.Split('/');
        var secret = segments[4];
        segments[4] = (secret[0] == 'A' ? 'B' : 'A') + secret[1..];
        return string.Join('/', segments);
    }

    private static HttpRequestMessage Post(string path, byte[] body, string contentType = "application/json") =>
        new(HttpMethod.Post, path) { Content = new ByteArrayContent(body) { Headers = { { "Content-Type", contentType } } } };

    /// <summary>Bodies, each given the instance name a well-aimed one would carry.</summary>
    private static IEnumerable<Func<string, byte[]>> Bodies(Random random)
    {
        static byte[] U(string s) => Encoding.UTF8.GetBytes(s);
        var valid = """{"event":"connection.update","instance":"INSTANCE","data":{"state":"open","statusReason":200},"date_time":"2026-12-02T10:00:00.000Z"}""";
        yield return _ => [];
        yield return _ => U("null");
        yield return _ => U("[]");
        yield return _ => U("\"text\"");
        yield return _ => U("{");
        yield return _ => U("{\"event\":");
        yield return _ => U("{\"a\":1}{\"b\":2}");
        yield return _ => U("{'single':'quotes'}");
        yield return _ => U("{\"a\":NaN}");
        yield return i => U(valid.Replace("INSTANCE", i)[..40]);
        yield return i => U(valid.Replace("INSTANCE", i) + "garbage");
        yield return _ => U(new string('[', 5000) + new string(']', 5000));
        yield return _ => U("{\"a\":" + string.Concat(Enumerable.Repeat("{\"a\":", 3000)) + "1" + new string('}', 3001));
        yield return _ => U("{\"pad\":\"" + new string('x', MaxWebhookBytes + 10) + "\"}");
        yield return _ => U(new string(' ', MaxWebhookBytes * 2));
        yield return i => [.. U("{\"event\":\"messages.upsert\",\"instance\":\"" + i + "\",\"data\":{\"message\":{\"conversation\":\""), 0xC3, 0x28, 0xFF, .. U("\"}}}")];
        yield return i => U("{\"event\":\"connection.update\",\"instance\":\"" + i + "\",\"data\":{\"state\":\"\\ud800\\udc00\\ud800\"},\"date_time\":\"\\udfff\"}");
        yield return i => U("{\"event\":42,\"instance\":\"" + i + "\",\"data\":\"not an object\"}");
        yield return i => U("{\"event\":\"connection.update\",\"instance\":\"" + i + "\",\"data\":{\"state\":[1,2],\"statusReason\":\"x\",\"wuid\":{}}}");
        yield return i => U("{\"event\":\"messages.update\",\"instance\":\"" + i + "\",\"data\":[{\"keyId\":null,\"status\":99}],\"date_time\":[]}");
        yield return i => U("{\"event\":\"qrcode.updated\",\"instance\":\"" + i + "\",\"data\":{\"qrcode\":{\"base64\":12,\"code\":true}}}");
        yield return i => U("{\"event\":\"status-find\",\"session\":\"" + i + "\",\"status\":{\"nested\":true}}");
        yield return i => U("{\"event\":\"onack\",\"session\":\"" + i + "\",\"ack\":\"three\",\"id\":{\"_serialized\":5}}");
        yield return i => U("{\"event\":\"onmessage\",\"session\":\"" + i + "\",\"from\":12345,\"body\":null,\"fromMe\":\"yes\"}");
        yield return _ => U("{\"instance\":{\"name\":\"object\"},\"session\":[\"array\"]}");
        yield return _ => U("{\"instance\":1e400,\"event\":-0}");
        yield return _ => U("Email=a%40b&Password=x&__RequestVerificationToken=forged&ReturnUrl=%2F%2Fevil.example");
        yield return _ => U("Email=" + new string('a', 20000) + "&Password=%FF%FE");
        yield return _ => U("{\"to\":123,\"text\":[\"a\"],\"sessionId\":\"not-a-guid\",\"displayName\":{\"x\":1}}");
        yield return _ => U("{\"to\":\"\",\"text\":\"" + new string('x', 70000) + "\"}");
        for (var i = 0; i < 30; i++)
        {
            var bytes = new byte[random.Next(1, 400)];
            random.NextBytes(bytes);
            yield return _ => bytes;
        }
    }

    private static IEnumerable<string> Junk(Random random)
    {
        yield return "%FF%FE%00";
        yield return "..%2F..%2Fetc%2Fpasswd";
        yield return "%3Cscript%3Ealert(1)%3C%2Fscript%3E";
        yield return new string('a', 4000);
        yield return "%E0%80%80";
        yield return "https%3A%2F%2Fevil.example";
        for (var i = 0; i < 10; i++) yield return Uri.EscapeDataString(new string(Enumerable.Range(0, random.Next(1, 60)).Select(_ => (char)random.Next(32, 0x2FFF)).ToArray()));
    }
}
