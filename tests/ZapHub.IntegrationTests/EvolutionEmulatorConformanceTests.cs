using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ZapHub.IntegrationTests.Infrastructure;

namespace ZapHub.IntegrationTests;

/// <summary>The emulator answers as shared/contracts/evolution-api-v2.md says the real Evolution API 2.3.6 does.</summary>
public class EvolutionEmulatorConformanceTests
{
    private static HttpRequestMessage Request(HttpMethod method, string path, string? key = EmulatorHost.EvolutionKey, object? body = null)
    {
        var request = new HttpRequestMessage(method, "/evolution" + path);
        if (key is not null) request.Headers.Add("apikey", key);
        if (body is not null) request.Content = JsonContent.Create(body);
        return request;
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(EmulatorHost e, HttpMethod method, string path, string? key = EmulatorHost.EvolutionKey, object? body = null)
    {
        var response = await e.Http.SendAsync(Request(method, path, key, body));
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    private static Task<(HttpStatusCode, JsonElement)> CreateAsync(EmulatorHost e, string name, object? webhook = null, bool qrcode = false) =>
        SendAsync(e, HttpMethod.Post, "/instance/create", body: new { instanceName = name, integration = "WHATSAPP-BAILEYS", qrcode, webhook });

    [Fact]
    public async Task AProxyIsTriedFirstAndOneThatDoesNotAnswerRefusesTheCreate()
    {
        await using var e = await EmulatorHost.StartAsync();
        var refused = await SendAsync(e, HttpMethod.Post, "/instance/create", body: new
        {
            instanceName = "sim1", integration = "WHATSAPP-BAILEYS", proxyHost = "proxy.invalid", proxyPort = "1080", proxyProtocol = "socks5",
        });
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Equal("Invalid proxy", refused.Body.GetProperty("response").GetProperty("message")[0].GetString());
        Assert.False((await e.InspectAsync("evolution", "sim1")).GetProperty("exists").GetBoolean());

        var created = await SendAsync(e, HttpMethod.Post, "/instance/create", body: new
        {
            instanceName = "sim1", integration = "WHATSAPP-BAILEYS", proxyHost = "proxy.test", proxyPort = "1080", proxyProtocol = "socks5", proxyUsername = "zap", proxyPassword = "x",
        });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        var held = await e.InspectAsync("evolution", "sim1");
        Assert.Equal(("socks5://proxy.test:1080", "zap", true), (held.GetProperty("proxy").GetString(), held.GetProperty("proxyUsername").GetString(), held.GetProperty("proxyPasswordGiven").GetBoolean()));

        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(e, HttpMethod.Post, "/proxy/set/sim1", body: new { enabled = true, host = "other.invalid", port = "8080", protocol = "http" })).Status);
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(e, HttpMethod.Post, "/proxy/set/sim1", body: new { enabled = true, host = "other.test", port = "8080", protocol = "http" })).Status);
        Assert.Equal("http://other.test:8080", (await e.InspectAsync("evolution", "sim1")).GetProperty("proxy").GetString());
    }

    [Fact]
    public async Task AnUnknownInstanceIs404EvenWithoutAKey()
    {
        await using var e = await EmulatorHost.StartAsync();
        var (status, body) = await SendAsync(e, HttpMethod.Get, "/instance/connectionState/ghost", key: null);
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal((404, "Not Found"), (body.GetProperty("status").GetInt32(), body.GetProperty("error").GetString()));
        Assert.Equal("The \"ghost\" instance does not exist", body.GetProperty("response").GetProperty("message")[0].GetString());
    }

    [Fact]
    public async Task AWrongKeyIs401WithAStringMessage()
    {
        await using var e = await EmulatorHost.StartAsync();
        await CreateAsync(e, "sim1");
        var (status, body) = await SendAsync(e, HttpMethod.Get, "/instance/connectionState/sim1", key: "wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("Unauthorized", body.GetProperty("response").GetProperty("message").GetString());
    }

    [Fact]
    public async Task CreateAnswers201WithTheDocumentedShape()
    {
        await using var e = await EmulatorHost.StartAsync();
        var (status, body) = await CreateAsync(e, "sim1");
        Assert.Equal(HttpStatusCode.Created, status);
        Assert.Equal("close", body.GetProperty("instance").GetProperty("status").GetString());
        Assert.Matches("^[0-9A-F-]{36}$", body.GetProperty("hash").GetString());
        Assert.False(body.TryGetProperty("qrcode", out _), "qrcode is absent unless qrcode:true");
        foreach (var key in new[] { "instance", "hash", "webhook", "websocket", "rabbitmq", "nats", "sqs", "settings" })
            Assert.True(body.TryGetProperty(key, out _), key);

        var (_, withQr) = await CreateAsync(e, "sim2", qrcode: true);
        var qr = withQr.GetProperty("qrcode");
        Assert.Equal(1, qr.GetProperty("count").GetInt32());
        Assert.StartsWith("2@", qr.GetProperty("code").GetString());
        Assert.StartsWith("data:image/png;base64,", qr.GetProperty("base64").GetString());
        Assert.Equal("connecting", withQr.GetProperty("instance").GetProperty("status").GetString());
    }

    [Fact]
    public async Task CreateNeedsTheGlobalKeyAValidIntegrationAndAFreeName()
    {
        await using var e = await EmulatorHost.StartAsync();
        var (_, first) = await CreateAsync(e, "sim1");
        var token = first.GetProperty("hash").GetString();
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(e, HttpMethod.Post, "/instance/create", token, new { instanceName = "x", integration = "WHATSAPP-BAILEYS" })).Status);
        var (dupStatus, dup) = await CreateAsync(e, "sim1");
        Assert.Equal(HttpStatusCode.Forbidden, dupStatus);
        Assert.Equal("This name \"sim1\" is already in use.", dup.GetProperty("response").GetProperty("message")[0].GetString());
        var (badStatus, bad) = await SendAsync(e, HttpMethod.Post, "/instance/create", body: new { instanceName = "x" });
        Assert.Equal(HttpStatusCode.BadRequest, badStatus);
        Assert.Equal("Invalid integration", bad.GetProperty("response").GetProperty("message")[0].GetString());
    }

    [Fact]
    public async Task AWebhookWithoutEventsIsRejected()
    {
        await using var e = await EmulatorHost.StartAsync();
        var (status, body) = await CreateAsync(e, "sim1", webhook: new { url = "http://127.0.0.1:9/hook" });
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("Cannot read properties of undefined (reading 'length')", body.GetProperty("response").GetProperty("message")[0].GetString());
    }

    /// <summary>The reconciler's one call per gateway: without a name and with the global key, every instance's row (§2).</summary>
    [Fact]
    public async Task FetchInstancesWithoutANameListsEveryInstanceAndNoneAsAnEmptyList()
    {
        await using var e = await EmulatorHost.StartAsync();
        var (status, none) = await SendAsync(e, HttpMethod.Get, "/instance/fetchInstances");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(JsonValueKind.Array, none.ValueKind);
        Assert.Equal(0, none.GetArrayLength());
        await CreateAsync(e, "list1");
        await CreateAsync(e, "list2");
        var (_, all) = await SendAsync(e, HttpMethod.Get, "/instance/fetchInstances");
        Assert.Equal(["list1", "list2"], all.EnumerateArray().Select(i => i.GetProperty("name").GetString()).Order());
        Assert.All(all.EnumerateArray(), i => Assert.Equal("close", i.GetProperty("connectionStatus").GetString()));
    }

    [Fact]
    public async Task AnInstanceTokenWorksOnlyForItsOwnInstance()
    {
        await using var e = await EmulatorHost.StartAsync();
        var (_, sim4) = await CreateAsync(e, "sim4");
        await CreateAsync(e, "sim5");
        var token = sim4.GetProperty("hash").GetString();
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(e, HttpMethod.Get, "/instance/connectionState/sim4", token)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(e, HttpMethod.Get, "/instance/connectionState/sim5", token)).Status);
        var (_, mine) = await SendAsync(e, HttpMethod.Get, "/instance/fetchInstances", token);
        Assert.Equal(["sim4"], mine.EnumerateArray().Select(i => i.GetProperty("name").GetString()));
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(e, HttpMethod.Get, "/instance/fetchInstances?instanceName=ghost")).Status);
    }

    [Fact]
    public async Task ConnectAnswersByState()
    {
        await using var e = await EmulatorHost.StartAsync();
        await CreateAsync(e, "sim1");
        var (_, qr) = await SendAsync(e, HttpMethod.Get, "/instance/connect/sim1");
        Assert.Equal(1, qr.GetProperty("count").GetInt32());
        Assert.Equal(JsonValueKind.Null, qr.GetProperty("pairingCode").ValueKind);
        var (_, again) = await SendAsync(e, HttpMethod.Get, "/instance/connect/sim1");
        Assert.Equal(qr.GetProperty("code").GetString(), again.GetProperty("code").GetString());
        await e.ScanAsync("evolution", "sim1");
        var (_, open) = await SendAsync(e, HttpMethod.Get, "/instance/connect/sim1");
        Assert.Equal("open", open.GetProperty("instance").GetProperty("state").GetString());

        await CreateAsync(e, "sim2");
        var (_, pairing) = await SendAsync(e, HttpMethod.Get, "/instance/connect/sim2?number=5511999990001");
        Assert.Equal(8, pairing.GetProperty("pairingCode").GetString()!.Length);
    }

    [Fact]
    public async Task LogoutRestartAndSendOnAClosedInstanceKeepTheirQuirks()
    {
        await using var e = await EmulatorHost.StartAsync();
        await CreateAsync(e, "sim1");
        var (logoutStatus, logout) = await SendAsync(e, HttpMethod.Delete, "/instance/logout/sim1");
        Assert.Equal(HttpStatusCode.BadRequest, logoutStatus);
        Assert.Equal("The \"sim1\" instance is not connected", logout.GetProperty("response").GetProperty("message")[0].GetString());

        var (restartStatus, restart) = await SendAsync(e, HttpMethod.Post, "/instance/restart/sim1");
        Assert.Equal(HttpStatusCode.OK, restartStatus);
        Assert.Equal("""{"error":true,"message":"[object Object]"}""", restart.GetRawText());

        var (sendStatus, send) = await SendAsync(e, HttpMethod.Post, "/message/sendText/sim1", body: new { number = "5511988887777", text = "oi" });
        Assert.Equal(HttpStatusCode.InternalServerError, sendStatus);
        // Never connected since the server started: no socket, and the send fails inside the server (contract §2).
        Assert.Equal("Cannot read properties of undefined (reading 'onWhatsApp')", send.GetProperty("response").GetProperty("message").GetString());

        var (numbersStatus, numbers) = await SendAsync(e, HttpMethod.Post, "/chat/whatsappNumbers/sim1", body: new { numbers = new[] { "5511988887777" } });
        Assert.Equal(HttpStatusCode.BadRequest, numbersStatus);
        Assert.True(numbers.GetProperty("isBoom").GetBoolean());
        Assert.Equal(428, numbers.GetProperty("output").GetProperty("statusCode").GetInt32());
    }

    [Fact]
    public async Task SendingValidatesLikeTheRealServer()
    {
        await using var e = await EmulatorHost.StartAsync();
        await CreateAsync(e, "sim1");
        await SendAsync(e, HttpMethod.Get, "/instance/connect/sim1");
        await e.ScanAsync("evolution", "sim1");

        var (okStatus, ok) = await SendAsync(e, HttpMethod.Post, "/message/sendText/sim1", body: new { number = "5511988887777", text = "Olá" });
        Assert.Equal(HttpStatusCode.Created, okStatus);
        Assert.Equal("PENDING", ok.GetProperty("status").GetString());
        Assert.Equal("Você", ok.GetProperty("pushName").GetString());
        Assert.Equal(JsonValueKind.Number, ok.GetProperty("messageTimestamp").ValueKind);
        Assert.False(ok.TryGetProperty("id", out _), "there is no top-level id");

        var (unknownStatus, unknown) = await SendAsync(e, HttpMethod.Post, "/message/sendText/sim1", body: new { number = "0001234", text = "x" });
        Assert.Equal(HttpStatusCode.BadRequest, unknownStatus);
        Assert.False(unknown.GetProperty("response").GetProperty("message")[0].GetProperty("exists").GetBoolean());
        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(e, HttpMethod.Post, "/message/sendText/sim1", body: new { number = "5511988887777", text = "x", delay = "1000" })).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(e, HttpMethod.Post, "/message/sendText/sim1", body: new { number = "5511988887777", text = " " })).Status);
        var (mediaStatus, media) = await SendAsync(e, HttpMethod.Post, "/message/sendMedia/sim1", body: new { number = "5511988887777", mediatype = "image", media = "data:image/png;base64,AAAA" });
        Assert.Equal(HttpStatusCode.BadRequest, mediaStatus);
        Assert.Equal("Owned media must be a url or base64", media.GetProperty("response").GetProperty("message")[0].GetString());
        var (_, numbers) = await SendAsync(e, HttpMethod.Post, "/chat/whatsappNumbers/sim1", body: new { numbers = new[] { "5511988887777", "0001234", "120363012345678901@g.us" } });
        Assert.Equal("120363012345678901@g.us", numbers[0].GetProperty("jid").GetString());
        var (emptyStatus, empty) = await SendAsync(e, HttpMethod.Post, "/chat/whatsappNumbers/sim1", body: new { numbers = Array.Empty<string>() });
        Assert.Equal(HttpStatusCode.BadRequest, emptyStatus);
        Assert.False(empty.TryGetProperty("response", out _), "this route answers errors without the wrapper");
    }

    [Fact]
    public async Task MalformedJsonAndUnknownRoutesUseTheErrorEnvelope()
    {
        await using var e = await EmulatorHost.StartAsync();
        var malformed = new HttpRequestMessage(HttpMethod.Post, "/evolution/instance/create") { Content = new StringContent("{", Encoding.UTF8, "application/json") };
        malformed.Headers.Add("apikey", EmulatorHost.EvolutionKey);
        var response = await e.Http.SendAsync(malformed);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("Internal Server Error", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        var (status, body) = await SendAsync(e, HttpMethod.Get, "/nope");
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("Cannot GET /evolution/nope", body.GetProperty("response").GetProperty("message")[0].GetString());
    }

    [Fact]
    public async Task QrCodesRotateAndTheLimitEndsInRefused()
    {
        await using var sink = await WebhookSink.StartAsync();
        await using var e = await EmulatorHost.StartAsync(("EvolutionQrInterval", "00:00:00.100"), ("EvolutionQrLimit", "3"));
        await CreateAsync(e, "sim2", webhook: new { url = new Uri(sink.BaseAddress, "/hook").ToString(), byEvents = false, events = Array.Empty<string>() });
        await SendAsync(e, HttpMethod.Get, "/instance/connect/sim2");
        var refused = await sink.WaitForAsync(r => r.Body.GetProperty("event").GetString() == "connection.update"
            && r.Body.GetProperty("data").GetProperty("state").GetString() == "refused", "refused");
        Assert.Equal(428, refused.Body.GetProperty("data").GetProperty("statusReason").GetInt32());
        var qrs = sink.Received.Where(r => r.Body.GetProperty("event").GetString() == "qrcode.updated").ToList();
        Assert.Equal(4, qrs.Count);
        Assert.Equal("QR code limit reached, please login again", qrs[^1].Body.GetProperty("data").GetProperty("message").GetString());
        var (_, state) = await SendAsync(e, HttpMethod.Get, "/instance/connectionState/sim2");
        Assert.Equal("close", state.GetProperty("instance").GetProperty("state").GetString());
    }

    /// <summary>Every captured webhook of the real server has a twin from the emulator with the same keys, at the same by-event path.</summary>
    [Fact]
    public async Task WebhooksMatchTheCapturedShapes()
    {
        await using var sink = await WebhookSink.StartAsync();
        await using var e = await EmulatorHost.StartAsync(("EvolutionQrInterval", "00:00:00.200"), ("EvolutionQrLimit", "2"));
        var hook = new Uri(sink.BaseAddress, "/hook").ToString();
        await CreateAsync(e, "sim2", webhook: new { url = new Uri(sink.BaseAddress, "/s2").ToString(), byEvents = false, events = Array.Empty<string>() });
        await SendAsync(e, HttpMethod.Get, "/instance/connect/sim2");
        await CreateAsync(e, "sim1", webhook: new { url = hook, byEvents = true, events = Array.Empty<string>() });
        await SendAsync(e, HttpMethod.Get, "/instance/connect/sim1");
        await e.ScanAsync("evolution", "sim1", "5511900000000", "Sim Business");
        await e.Http.PostAsJsonAsync("/_emulator/evolution/sim1/inbound", new { from = "5511988887777", pushName = "Maria", text = "Oi, tudo bem?" });
        var (_, sent) = await SendAsync(e, HttpMethod.Post, "/message/sendText/sim1", body: new { number = "5511988887777", text = "Olá" });
        await e.Http.PostAsJsonAsync("/_emulator/evolution/sim1/ack", new { messageId = sent.GetProperty("key").GetProperty("id").GetString(), status = "delivered" });
        await SendAsync(e, HttpMethod.Delete, "/instance/logout/sim1");
        await SendAsync(e, HttpMethod.Delete, "/instance/delete/sim1");

        var fixtures = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "Fixtures", "evolution-webhooks.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement).ToList();
        foreach (var fixture in fixtures)
        {
            var body = fixture.GetProperty("body");
            var evt = body.GetProperty("event").GetString()!;
            var variant = Variant(body);
            var instance = body.GetProperty("instance").GetString();
            var twin = await sink.WaitForAsync(r => r.Body.GetProperty("event").GetString() == evt && r.Body.GetProperty("instance").GetString() == instance
                && Variant(r.Body) == variant, $"{evt} {variant} of {instance}");
            Assert.Equal(fixture.GetProperty("path").GetString(), twin.Path);
            Assert.Equal(Keys(body), Keys(twin.Body));
            Assert.Equal(Keys(body.GetProperty("data")), Keys(twin.Body.GetProperty("data")));
        }
    }

    private static string Variant(JsonElement body) => body.GetProperty("data") switch
    {
        { ValueKind: JsonValueKind.Object } d when d.TryGetProperty("state", out var s) => s.GetString()!,
        { ValueKind: JsonValueKind.Object } d when d.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.String && body.GetProperty("event").GetString() != "messages.update" => s.GetString()!,
        { ValueKind: JsonValueKind.Object } d when d.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String => "limit",
        _ => "",
    };

    private static string Keys(JsonElement e) =>
        e.ValueKind == JsonValueKind.Object ? string.Join(",", e.EnumerateObject().Select(p => p.Name).Order()) : e.ValueKind.ToString();
}
