using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ZapHub.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace ZapHub.IntegrationTests;

public class GatewayWebhookReceiverTests(ITestOutputHelper output)
{
    /// <summary>A session provisioned on a real emulator, so its callback URL (with the secret) is known.</summary>
    private static async Task<(ZapHubApp App, EmulatorHost Emulator, TestTenant Tenant, Guid SessionId, string CallbackPath)> SetUpAsync()
    {
        var emulator = await EmulatorHost.StartAsync();
        var app = new ZapHubApp().With("Gateways:MaxWebhookBytes", "65536").With("RateLimits:GatewayWebhooksPerSecond", "1000000");
        app.ServeOverKestrel();
        await app.RegisterEmulatorAsync(emulator);
        var t = await app.CreateTenantAsync();
        var id = (await t.CreateSessionAsync("Recepção", "Evolution")).GetProperty("id").GetGuid();
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.Accepted);
        var instance = (await t.SessionAsync(id)).GetProperty("instanceName").GetString()!;
        var find = new HttpRequestMessage(HttpMethod.Get, $"/evolution/webhook/find/{instance}");
        find.Headers.Add("apikey", EmulatorHost.EvolutionKey);
        var webhook = await (await emulator.Http.SendAsync(find)).Content.ReadFromJsonAsync<JsonElement>();
        return (app, emulator, t, id, new Uri(webhook.GetProperty("url").GetString()!).AbsolutePath);
    }

    /// <summary>How many stored gateway events carry the marker (the emulator's own webhooks keep arriving meanwhile).</summary>
    private static async Task<int> StoredWithAsync(ZapHubApp app, string marker)
    {
        var inbox = await Http.JsonAsync(await (await app.OperatorAsync()).GetAsync("/api/v1/admin/gateway-events?limit=1000"), HttpStatusCode.OK);
        return inbox.GetProperty("events").EnumerateArray().Count(e => e.GetProperty("body").GetString()!.Contains(marker));
    }

    [Fact]
    public async Task AWrongSecretOrUnknownSessionIs404AndStoresNothing()
    {
        var (app, emulator, _, id, path) = await SetUpAsync();
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        var client = app.Anonymous();
        var marker = Guid.NewGuid().ToString("N");
        StringContent Body() => new($"{{\"event\":\"probe\",\"marker\":\"{marker}\"}}", Encoding.UTF8, "application/json");

        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync(path[..^3] + "AAA", Body())).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync($"/hooks/gateway/{Guid.NewGuid()}/{path.Split('/')[^1]}", Body())).StatusCode);
        Assert.Equal(0, await StoredWithAsync(app, marker));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(path, Body())).StatusCode);
        Assert.Equal(1, await StoredWithAsync(app, marker));
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync(path + "/connection-update", new StringContent("""{"event":"x","n":2}""", Encoding.UTF8, "application/json"))).StatusCode);
    }

    [Fact]
    public async Task ARetriedDeliveryIsStoredOnce()
    {
        var (app, emulator, t, id, path) = await SetUpAsync();
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        var client = app.Anonymous();
        var marker = Guid.NewGuid().ToString("N");
        var instance = (await t.SessionAsync(id)).GetProperty("instanceName").GetString();
        var json = $$"""{"event":"messages.update","instance":"{{instance}}","data":{"keyId":"{{marker}}","status":"READ"},"date_time":"2026-11-22T18:23:39.710Z"}""";
        var first = await Http.JsonAsync(await client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json")), HttpStatusCode.OK);
        var retry = await Http.JsonAsync(await client.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json")), HttpStatusCode.OK);
        Assert.False(first.GetProperty("duplicate").GetBoolean());
        Assert.True(retry.GetProperty("duplicate").GetBoolean());
        Assert.Equal(1, await StoredWithAsync(app, marker));
    }

    [Fact]
    public async Task AnEventNamingAnotherInstanceIsRefusedCountedAndChangesNothing()
    {
        var (app, emulator, t, id, path) = await SetUpAsync();
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        var client = app.Anonymous();
        var marker = Guid.NewGuid().ToString("N");
        var foreign = $$"""{"event":"connection.update","instance":"someone-elses-number","data":{"state":"open","wuid":"5511912345678@s.whatsapp.net","profileName":"Intruso"},"marker":"{{marker}}"}""";

        for (var i = 0; i < 3; i++)
        {
            var refused = await Http.JsonAsync(await client.PostAsync(path, new StringContent(foreign, Encoding.UTF8, "application/json")), HttpStatusCode.Conflict);
            Assert.Equal("foreign_instance", refused.GetProperty("code").GetString());
        }
        Assert.Equal(0, await StoredWithAsync(app, marker));
        var session = await t.SessionAsync(id);
        Assert.NotEqual("Connected", session.GetProperty("state").GetString());
        Assert.NotEqual("+5511912345678", session.GetProperty("phone").ToString());

        var op = await app.OperatorAsync();
        var inbox = await Http.JsonAsync(await op.GetAsync($"/api/v1/admin/gateway-events?sessionId={id}&limit=1"), HttpStatusCode.OK);
        Assert.Equal(3, inbox.GetProperty("refused").GetProperty("count").GetInt32());
        Assert.Equal("someone-elses-number", inbox.GetProperty("refused").GetProperty("lastInstance").GetString());

        // Its own instance's events still go in, and connect it.
        await Http.ExpectAsync(await emulator.ScanAsync("evolution", session.GetProperty("instanceName").GetString()!), HttpStatusCode.OK);
        await t.WaitForStateAsync(id, "Connected");
    }

    [Fact]
    public async Task ThousandsOfHostileRequestsGetOnly4xxAndTheAppStaysHealthy()
    {
        var (app, emulator, t, id, path) = await SetUpAsync();
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        var client = app.Anonymous();
        var secret = path.Split('/')[^1];
        var random = new Random(20261122);
        var marker = Guid.NewGuid().ToString("N");
        var counts = new Dictionary<string, int>();

        var requests = Enumerable.Range(0, 3000).Select(i =>
        {
            var kind = i % 6;
            var target = kind switch
            {
                0 => $"/hooks/gateway/{Guid.NewGuid()}/{secret}",
                1 => $"/hooks/gateway/{id}/{RandomText(random, 43)}",
                2 => $"/hooks/gateway/{id}/{secret[..^1]}",
                _ => path,
            };
            HttpContent content = kind switch
            {
                3 => new ByteArrayContent(Enumerable.Range(0, random.Next(1, 300)).Select(_ => (byte)random.Next(256)).ToArray()),
                4 => new StringContent(new string('x', 70_000), Encoding.UTF8, "application/json"),
                5 => new StringContent(random.Next(3) switch { 0 => "[1,2,3]", 1 => "\"text\"", _ => "{\"event\":" }, Encoding.UTF8, "application/json"),
                _ => new StringContent($$"""{"event":"connection.update","data":{"state":"open"},"marker":"{{marker}}"}""", Encoding.UTF8, "application/json"),
            };
            return (Kind: kind, Message: new HttpRequestMessage(HttpMethod.Post, target) { Content = content });
        }).ToList();

        var throttle = new SemaphoreSlim(32);
        var results = await Task.WhenAll(requests.Select(async r =>
        {
            await throttle.WaitAsync();
            try { return (r.Kind, Status: (int)(await client.SendAsync(r.Message)).StatusCode); }
            finally { throttle.Release(); }
        }));
        foreach (var group in results.GroupBy(r => $"kind {r.Kind} -> {r.Status}")) counts[group.Key] = group.Count();
        output.WriteLine(string.Join("\n", counts.OrderBy(c => c.Key).Select(c => $"{c.Key}: {c.Value}")));

        Assert.All(results, r => Assert.InRange(r.Status, 400, 499));
        Assert.All(results.Where(r => r.Kind <= 2), r => Assert.Equal(404, r.Status));
        Assert.All(results.Where(r => r.Kind == 4), r => Assert.Equal(413, r.Status));
        Assert.Equal(0, await StoredWithAsync(app, marker));
        Assert.Equal("Healthy", await client.GetStringAsync("/health/ready"));
        // And the receiver still works for the real gateway.
        await emulator.ScanAsync("evolution", (await t.SessionAsync(id)).GetProperty("instanceName").GetString()!);
        await t.WaitForStateAsync(id, "Connected");
    }

    [Fact]
    public async Task AFloodFromOneSenderIsRateLimited()
    {
        var (app, emulator, _, _, path) = await SetUpAsync();
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        var flood = new ZapHubApp().With("RateLimits:GatewayWebhooksPerSecond", "5");
        await using var floodLifetime = flood;
        var target = $"/hooks/gateway/{Guid.NewGuid()}/x";
        var statuses = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ =>
            flood.Anonymous().PostAsync(target, new StringContent("{}", Encoding.UTF8, "application/json"))));
        Assert.Contains(statuses, r => r.StatusCode == HttpStatusCode.TooManyRequests);
        Assert.Equal(HttpStatusCode.OK, (await app.Anonymous().PostAsync(path, new StringContent("{\"event\":\"ok\"}", Encoding.UTF8, "application/json"))).StatusCode);
    }

    private static string RandomText(Random random, int length) =>
        new(Enumerable.Range(0, length).Select(_ => "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"[random.Next(64)]).ToArray());
}
