using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ZapHub.IntegrationTests.Infrastructure;

namespace ZapHub.IntegrationTests;

/// <summary>
/// The emulator's fault modes behave as the real servers did when ZapHub drove them into failure
/// (shared/contracts: Evolution §2, WPPConnect §7). Each fact written there has its check here.
/// </summary>
public class EmulatorFaultConformanceTests
{
    private static HttpRequestMessage Evolution(HttpMethod method, string path, string key = EmulatorHost.EvolutionKey, object? body = null)
    {
        var request = new HttpRequestMessage(method, "/evolution" + path);
        request.Headers.Add("apikey", key);
        if (body is not null) request.Content = JsonContent.Create(body);
        return request;
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(EmulatorHost e, HttpRequestMessage request)
    {
        var response = await e.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonSerializer.Deserialize<JsonElement>(text));
    }

    private static async Task<string> CreateEvolutionAsync(EmulatorHost e, WebhookSink sink, string name)
    {
        var (status, body) = await SendAsync(e, Evolution(HttpMethod.Post, "/instance/create", body: new
        {
            instanceName = name, integration = "WHATSAPP-BAILEYS", qrcode = false,
            webhook = new { url = new Uri(sink.BaseAddress, "/hook").ToString(), byEvents = false, events = Array.Empty<string>() },
        }));
        Assert.Equal(HttpStatusCode.Created, status);
        return body.GetProperty("hash").GetString()!;
    }

    private static int Connecting(WebhookSink sink) => sink.Received.Count(r => r.Body.GetProperty("event").GetString() == "connection.update"
        && r.Body.GetProperty("data").GetProperty("state").GetString() == "connecting");

    private static async Task<(string Memory, string Stored)> EvolutionStatesAsync(EmulatorHost e, string name)
    {
        var (_, state) = await SendAsync(e, Evolution(HttpMethod.Get, $"/instance/connectionState/{name}"));
        var (_, rows) = await SendAsync(e, Evolution(HttpMethod.Get, $"/instance/fetchInstances?instanceName={name}"));
        return (state.GetProperty("instance").GetProperty("state").GetString()!, rows[0].GetProperty("connectionStatus").GetString()!);
    }

    [Fact]
    public async Task EvolutionListsItsDatabaseStatusWhichADroppedConnectionAndTheQrLimitLeaveBehind()
    {
        await using var sink = await WebhookSink.StartAsync();
        await using var e = await EmulatorHost.StartAsync(("EvolutionQrInterval", "00:00:00.100"), ("EvolutionQrLimit", "3"));
        await CreateEvolutionAsync(e, sink, "db1");
        Assert.Equal(("close", "close"), await EvolutionStatesAsync(e, "db1"));
        await SendAsync(e, Evolution(HttpMethod.Get, "/instance/connect/db1"));
        Assert.Equal(("connecting", "connecting"), await EvolutionStatesAsync(e, "db1"));
        await Http.ExpectAsync(await e.ScanAsync("evolution", "db1"), HttpStatusCode.OK);
        Assert.Equal(("open", "open"), await EvolutionStatesAsync(e, "db1"));

        // The connection drops and Evolution keeps reconnecting: Baileys says connecting, the database still says open.
        await Http.ExpectAsync(await e.FaultsAsync(new { reconnectAfterDrop = false }), HttpStatusCode.OK);
        await Http.ExpectAsync(await e.DropAsync("evolution", "db1"), HttpStatusCode.OK);
        Assert.Equal(("connecting", "open"), await EvolutionStatesAsync(e, "db1"));

        // A logout is written to both.
        await SendAsync(e, Evolution(HttpMethod.Delete, "/instance/logout/db1"));
        Assert.Equal(("close", "close"), await EvolutionStatesAsync(e, "db1"));

        // The QR limit closes the socket; the database keeps the "connecting" its last code wrote.
        await SendAsync(e, Evolution(HttpMethod.Get, "/instance/connect/db1"));
        await Eventually.WaitAsync(() => EvolutionStatesAsync(e, "db1"), s => s.Memory == "close", "the QR limit");
        Assert.Equal(("close", "connecting"), await EvolutionStatesAsync(e, "db1"));
    }

    [Fact]
    public async Task EvolutionWithWhatsAppUnreachableLoopsConnectingWhileItsStateReadsClose()
    {
        await using var sink = await WebhookSink.StartAsync();
        await using var e = await EmulatorHost.StartAsync(("EvolutionReconnectInterval", "00:00:00.020"));
        await CreateEvolutionAsync(e, sink, "loop1");
        await Http.ExpectAsync(await e.FaultAsync("evolution", "loop1", "unreachable"), HttpStatusCode.OK);

        var (connectStatus, connect) = await SendAsync(e, Evolution(HttpMethod.Get, "/instance/connect/loop1"));
        Assert.Equal(HttpStatusCode.OK, connectStatus);
        Assert.Equal(0, connect.GetProperty("count").GetInt32());
        await Eventually.WaitAsync(() => Task.FromResult(Connecting(sink)), n => n >= 10, "a stream of connecting webhooks");
        Assert.DoesNotContain(sink.Received, r => r.Body.GetProperty("event").GetString() == "qrcode.updated");
        Assert.All(sink.Received.Where(r => r.Body.GetProperty("event").GetString() == "connection.update"),
            r => Assert.Equal(200, r.Body.GetProperty("data").GetProperty("statusReason").GetInt32()));
        var (_, state) = await SendAsync(e, Evolution(HttpMethod.Get, "/instance/connectionState/loop1"));
        Assert.Equal("close", state.GetProperty("instance").GetProperty("state").GetString());
        var (_, rows) = await SendAsync(e, Evolution(HttpMethod.Get, "/instance/fetchInstances?instanceName=loop1"));
        Assert.Equal("close", rows[0].GetProperty("connectionStatus").GetString());

        // Logout is no way out: 400 "not connected", and the loop goes on.
        var (logoutStatus, logout) = await SendAsync(e, Evolution(HttpMethod.Delete, "/instance/logout/loop1"));
        Assert.Equal(HttpStatusCode.BadRequest, logoutStatus);
        Assert.Equal("The \"loop1\" instance is not connected", logout.GetProperty("response").GetProperty("message")[0].GetString());
        var before = Connecting(sink);
        await Eventually.WaitAsync(() => Task.FromResult(Connecting(sink)), n => n > before + 5, "the loop to go on after the logout");

        // Restart on a closed instance: the 200 with a stringified error.
        var (_, restart) = await SendAsync(e, Evolution(HttpMethod.Post, "/instance/restart/loop1"));
        Assert.True(restart.GetProperty("error").GetBoolean());

        // Delete ends it, as far as webhooks go.
        var (deleteStatus, _) = await SendAsync(e, Evolution(HttpMethod.Delete, "/instance/delete/loop1"));
        Assert.Equal(HttpStatusCode.OK, deleteStatus);
        await Task.Delay(300);
        var after = Connecting(sink);
        await Task.Delay(300);
        Assert.Equal(after, Connecting(sink));
        Assert.False((await e.InspectAsync("evolution", "loop1")).GetProperty("exists").GetBoolean());
    }

    [Fact]
    public async Task EvolutionTriesAWebhookAnswered5xxAgainWithTheSameBodyButNeverOneAnswered4xx()
    {
        await using var sink = await WebhookSink.StartAsync();
        sink.Answers.Enqueue(503);
        sink.Answers.Enqueue(404);
        await using var e = await EmulatorHost.StartAsync(("EvolutionWebhookRetryDelay", "00:00:00.100"));
        await CreateEvolutionAsync(e, sink, "retry1");

        await Eventually.WaitAsync(() => Task.FromResult(sink.Received.Count), n => n >= 2, "the delivery to be tried again after the 503");
        await Task.Delay(500);
        var tries = sink.Received.ToList();
        Assert.Equal(2, tries.Count);
        Assert.All(tries, t => Assert.Equal("instance.create", t.Body.GetProperty("event").GetString()));
        // The same body, date_time included: a receiver dedupes the retry by it.
        Assert.Equal(tries[0].Body.GetRawText(), tries[1].Body.GetRawText());
    }

    [Fact]
    public async Task EvolutionSendsWithoutASocketFailInsideTheServerAndALostInstanceIs404()
    {
        await using var sink = await WebhookSink.StartAsync();
        await using var e = await EmulatorHost.StartAsync();
        await CreateEvolutionAsync(e, sink, "nosock");
        var (status, body) = await SendAsync(e, Evolution(HttpMethod.Post, "/message/sendText/nosock", body: new { number = "5511988887777", text = "oi" }));
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Equal("Cannot read properties of undefined (reading 'onWhatsApp')", body.GetProperty("response").GetProperty("message").GetString());

        // A connected instance whose socket the server lost says nothing; its sends fail the same way.
        await SendAsync(e, Evolution(HttpMethod.Get, "/instance/connect/nosock"));
        await Http.ExpectAsync(await e.ScanAsync("evolution", "nosock"), HttpStatusCode.OK);
        await Http.ExpectAsync(await e.FaultAsync("evolution", "nosock", "socketless"), HttpStatusCode.OK);
        (status, body) = await SendAsync(e, Evolution(HttpMethod.Post, "/message/sendText/nosock", body: new { number = "5511988887777", text = "oi" }));
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Contains("onWhatsApp", body.GetProperty("response").GetProperty("message").GetString());
        // Its database row keeps the "open" it last wrote; only Baileys' own state says it is closed (contract §1.4, §2).
        var (_, rows) = await SendAsync(e, Evolution(HttpMethod.Get, "/instance/fetchInstances?instanceName=nosock"));
        Assert.Equal("open", rows[0].GetProperty("connectionStatus").GetString());
        var (_, live) = await SendAsync(e, Evolution(HttpMethod.Get, "/instance/connectionState/nosock"));
        Assert.Equal("close", live.GetProperty("instance").GetProperty("state").GetString());

        // With a socket that is closed (logged out), the same send is "Connection Closed" (contract §1.7).
        await SendAsync(e, Evolution(HttpMethod.Get, "/instance/connect/nosock"));
        await Http.ExpectAsync(await e.ScanAsync("evolution", "nosock"), HttpStatusCode.OK);
        await Http.ExpectAsync(await e.UnlinkAsync("evolution", "nosock"), HttpStatusCode.OK);
        (status, body) = await SendAsync(e, Evolution(HttpMethod.Post, "/message/sendText/nosock", body: new { number = "5511988887777", text = "oi" }));
        Assert.Equal((HttpStatusCode.InternalServerError, "Connection Closed"), (status, body.GetProperty("response").GetProperty("message").GetString()));

        await Http.ExpectAsync(await e.Http.PostAsync("/_emulator/evolution/nosock/lose", null), HttpStatusCode.OK);
        (status, body) = await SendAsync(e, Evolution(HttpMethod.Get, "/instance/connect/nosock"));
        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("The \"nosock\" instance does not exist", body.GetProperty("response").GetProperty("message")[0].GetString());
    }

    [Fact]
    public async Task AResetConnectionEndsTheCallBeforeTheServerDoesAnythingAndTheNextCallWorks()
    {
        await using var e = await EmulatorHost.StartAsync();
        await Http.ExpectAsync(await e.FaultsAsync(new { resetNext = 1 }), HttpStatusCode.OK);
        var name = "reset-" + Guid.NewGuid().ToString("N")[..8];
        await Assert.ThrowsAsync<HttpRequestException>(() => e.Http.SendAsync(Evolution(HttpMethod.Post, "/instance/create", body: new { instanceName = name, integration = "WHATSAPP-BAILEYS" })));
        Assert.False((await e.InspectAsync("evolution", name)).GetProperty("exists").GetBoolean());
        var (status, _) = await SendAsync(e, Evolution(HttpMethod.Post, "/instance/create", body: new { instanceName = name, integration = "WHATSAPP-BAILEYS" }));
        Assert.Equal(HttpStatusCode.Created, status);
    }

    [Fact]
    public async Task EvolutionVerifyCredsTellsTheGlobalKeyFromAnInstanceTokenButFetchInstancesDoesNot()
    {
        await using var sink = await WebhookSink.StartAsync();
        await using var e = await EmulatorHost.StartAsync();
        var token = await CreateEvolutionAsync(e, sink, "tok1");
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(e, Evolution(HttpMethod.Get, "/instance/fetchInstances", token))).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(e, Evolution(HttpMethod.Post, "/verify-creds"))).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(e, Evolution(HttpMethod.Post, "/verify-creds", token))).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(e, Evolution(HttpMethod.Post, "/instance/create", token, new { instanceName = "x", integration = "WHATSAPP-BAILEYS" }))).Status);
    }

    [Fact]
    public async Task WppConnectCloseOfAnInitializingSessionLeavesALockedBrowserOnlyARestartEnds()
    {
        await using var sink = await WebhookSink.StartAsync();
        await using var e = await EmulatorHost.StartAsync();
        var token = await e.WppTokenAsync("stuck1");
        await Http.ExpectAsync(await e.FaultAsync("wppconnect", "stuck1", "unreachable"), HttpStatusCode.OK);
        var hook = new Uri(sink.BaseAddress, "/hook/stuck1").ToString();
        var (startStatus, start) = await SendAsync(e, EmulatorHost.Wpp(HttpMethod.Post, "stuck1", "start-session", token, new { webhook = hook }));
        Assert.Equal(HttpStatusCode.OK, startStatus);
        Assert.Equal("CLOSED", start.GetProperty("status").GetString());
        await Task.Delay(200);
        var (_, status) = await SendAsync(e, EmulatorHost.Wpp(HttpMethod.Get, "stuck1", "status-session", token));
        Assert.Equal("INITIALIZING", status.GetProperty("status").GetString());
        Assert.Empty(sink.Received);

        // Logout of a session without a live client: 404 Disconnected, and nothing changes.
        var (logoutStatus, logout) = await SendAsync(e, EmulatorHost.Wpp(HttpMethod.Post, "stuck1", "logout-session", token));
        Assert.Equal(HttpStatusCode.NotFound, logoutStatus);
        Assert.Equal("Disconnected", logout.GetProperty("status").GetString());
        Assert.Equal("INITIALIZING", (await SendAsync(e, EmulatorHost.Wpp(HttpMethod.Get, "stuck1", "status-session", token))).Body.GetProperty("status").GetString());
        var (checkStatus, check) = await SendAsync(e, EmulatorHost.Wpp(HttpMethod.Get, "stuck1", "check-connection-session", token));
        Assert.Equal((HttpStatusCode.OK, false), (checkStatus, check.GetProperty("status").GetBoolean()));
        var (sendStatus, send) = await SendAsync(e, EmulatorHost.Wpp(HttpMethod.Post, "stuck1", "send-message", token, new { phone = "5511988887777", message = "oi" }));
        Assert.Equal((HttpStatusCode.NotFound, "Disconnected"), (sendStatus, send.GetProperty("status").GetString()));

        // close-session: 500, and the browser stays with its profile locked; later closes answer 200 and do nothing.
        Assert.Equal(HttpStatusCode.InternalServerError, (await SendAsync(e, EmulatorHost.Wpp(HttpMethod.Post, "stuck1", "close-session", token))).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(e, EmulatorHost.Wpp(HttpMethod.Post, "stuck1", "close-session", token))).Status);
        var left = await e.InspectAsync("wppconnect", "stuck1");
        Assert.True(left.GetProperty("browserLocked").GetBoolean());

        // WhatsApp is reachable again, yet every start of that name sits INITIALIZING while the browser lives.
        await Http.ExpectAsync(await e.FaultAsync("wppconnect", "stuck1", null), HttpStatusCode.OK);
        await SendAsync(e, EmulatorHost.Wpp(HttpMethod.Post, "stuck1", "start-session", token, new { webhook = hook }));
        await Task.Delay(300);
        Assert.Equal("INITIALIZING", (await SendAsync(e, EmulatorHost.Wpp(HttpMethod.Get, "stuck1", "status-session", token))).Body.GetProperty("status").GetString());

        // A new session name has its own profile and is not blocked.
        var fresh = await e.WppTokenAsync("stuck2");
        await SendAsync(e, EmulatorHost.Wpp(HttpMethod.Post, "stuck2", "start-session", fresh, new { webhook = new Uri(sink.BaseAddress, "/hook/stuck2").ToString() }));
        await sink.WaitForAsync(r => r.Path == "/hook/stuck2" && r.Body.GetProperty("event").GetString() == "qrcode", "a QR code for the fresh name");

        // A restart ends the browser; startAllSession then launches every stored session again, webhook and all.
        await Http.ExpectAsync(await e.Http.PostAsync("/_emulator/restart?keepData=true", null), HttpStatusCode.OK);
        await sink.WaitForAsync(r => r.Path == "/hook/stuck1" && r.Body.GetProperty("event").GetString() == "qrcode", "the stored session relaunched by the restart");
    }

    [Fact]
    public async Task WppConnectKeepsATokenFileAfterEveryCallAndClearSessionDataRemovesOnlyTheProfile()
    {
        await using var sink = await WebhookSink.StartAsync();
        await using var e = await EmulatorHost.StartAsync();
        var token = await e.WppTokenAsync("gone1");
        await SendAsync(e, EmulatorHost.Wpp(HttpMethod.Post, "gone1", "start-session", token, new { webhook = new Uri(sink.BaseAddress, "/hook/gone1").ToString() }));
        await sink.WaitForAsync(r => r.Body.GetProperty("event").GetString() == "qrcode", "the QR code");
        await Http.ExpectAsync(await e.ScanAsync("wppconnect", "gone1", "5511977770001"), HttpStatusCode.OK);
        await Eventually.WaitAsync(async () => (await SendAsync(e, EmulatorHost.Wpp(HttpMethod.Get, "gone1", "status-session", token))).Body,
            b => b.GetProperty("status").GetString() == "CONNECTED", "connected");

        // The phone of a QR login: no webhook carries it, host-device does.
        var (deviceStatus, device) = await SendAsync(e, EmulatorHost.Wpp(HttpMethod.Get, "gone1", "host-device", token));
        Assert.Equal(HttpStatusCode.OK, deviceStatus);
        Assert.Equal("5511977770001@c.us", device.GetProperty("response").GetProperty("phoneNumber").GetString());

        Assert.Equal(HttpStatusCode.OK, (await SendAsync(e, EmulatorHost.Wpp(HttpMethod.Post, "gone1", "logout-session", token))).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(e, EmulatorHost.Wpp(HttpMethod.Post, "gone1", "close-session", token))).Status);
        var after = await e.InspectAsync("wppconnect", "gone1");
        Assert.True(after.GetProperty("tokenStored").GetBoolean(), "neither logout nor close removes the token file");
        Assert.False(after.GetProperty("browserRunning").GetBoolean());
        var (_, sessions) = await SendAsync(e, new HttpRequestMessage(HttpMethod.Get, $"/wppconnect/api/{EmulatorHost.WppSecret}/show-all-sessions"));
        Assert.Contains(sessions.GetProperty("response").EnumerateArray(), s => s.GetString() == "gone1");

        // A wrong secret is refused and acts anyway; the token file survives it. With the right one: 200 {"success":true}.
        var wrong = await e.Http.PostAsync("/wppconnect/api/gone1/wrong-secret/clear-session-data", null);
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        after = await e.InspectAsync("wppconnect", "gone1");
        Assert.False(after.GetProperty("profileStored").GetBoolean());
        Assert.True(after.GetProperty("tokenStored").GetBoolean());
        var right = await e.Http.PostAsync($"/wppconnect/api/gone1/{EmulatorHost.WppSecret}/clear-session-data", null);
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        Assert.Equal("""{"success":true}""", await right.Content.ReadAsStringAsync());
    }
}
