using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ZapHub.IntegrationTests.Infrastructure;

namespace ZapHub.IntegrationTests;

/// <summary>
/// What the real Evolution API 2.3.6 and WPPConnect Server 2.10.4 did when ZapHub drove them into failure (shared/contracts:
/// Evolution §2, WPPConnect §7), reproduced by the emulator's fault modes and driven through ZapHub's HTTP API: every
/// attempt ends in a state the owner understands, stops leave nothing behind that the operator is not told about, and no
/// failure is a dead end.
/// </summary>
public class RealGatewayFailureTests
{
    public static TheoryData<string, string> Providers => new() { { "evolution", "Evolution" }, { "wppconnect", "WppConnect" } };

    private static readonly (string, string)[] FastReconcile =
        [("Sessions:StartingTimeout", "00:00:02"), ("Sessions:ReconcileInterval", "00:00:00.200"), ("Sessions:TransitionalCheckInterval", "00:00:00.100")];

    private static async Task<(ZapHubApp App, EmulatorHost Emulator, TestTenant Tenant, (Guid Evolution, Guid WppConnect) Gateways)> StartAsync(
        (string, string)[]? emulatorSettings = null, (string Key, string Value)[]? appSettings = null)
    {
        var emulator = await EmulatorHost.StartAsync(emulatorSettings ?? [("EvolutionReconnectInterval", "00:00:00.050")]);
        var app = new ZapHubApp();
        foreach (var (k, v) in appSettings ?? []) app.With(k, v);
        app.ServeOverKestrel();
        var gateways = await app.RegisterEmulatorAsync(emulator);
        return (app, emulator, await app.CreateTenantAsync(), gateways);
    }

    private static async Task<(Guid Id, string Instance)> NewNumberAsync(TestTenant t, string kind, string name = "Recepção")
    {
        var created = await t.CreateSessionAsync(name, kind);
        return (created.GetProperty("id").GetGuid(), created.GetProperty("instanceName").GetString()!);
    }

    private static async Task<JsonElement> TimelineAsync(TestTenant t, Guid id) =>
        await Http.JsonAsync(await t.Owner.GetAsync($"/api/v1/sessions/{id}/timeline"), HttpStatusCode.OK);

    private static async Task<int> InboxRowsAsync(ZapHubApp app, Guid sessionId)
    {
        var op = await app.OperatorAsync();
        return (await Http.JsonAsync(await op.GetAsync($"/api/v1/admin/gateway-events?sessionId={sessionId}&limit=1"), HttpStatusCode.OK)).GetProperty("total").GetInt32();
    }

    private static async Task<JsonElement> GatewayAsync(ZapHubApp app, Guid gatewayId)
    {
        var op = await app.OperatorAsync();
        var all = await Http.JsonAsync(await op.GetAsync("/api/v1/admin/gateways"), HttpStatusCode.OK);
        return all.EnumerateArray().Single(g => g.GetProperty("id").GetGuid() == gatewayId);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task WithWhatsAppUnreachableTheOwnerSeesFailedWithinTheDeadlineAndTheGatewayStopsTrying(string provider, string kind)
    {
        var (app, emulator, t, gateways) = await StartAsync(appSettings: FastReconcile);
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        var (id, instance) = await NewNumberAsync(t, kind);
        await Http.ExpectAsync(await emulator.FaultAsync(provider, instance, "unreachable"), HttpStatusCode.OK);

        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.Accepted);
        var started = DateTime.UtcNow;
        var failed = await t.WaitForStateAsync(id, "Failed", TimeSpan.FromSeconds(30));
        Assert.Equal("start_timeout", failed.GetProperty("stateReason").GetString());
        Assert.Contains("tell the operator", failed.GetProperty("lastError").GetString());
        var waited = DateTime.UtcNow - started;

        // While the gateway looped, the attempt kept its clock: Starting once, then Failed; no back-and-forth in the timeline.
        var steps = (await TimelineAsync(t, id)).EnumerateArray().Reverse().Select(e => e.GetProperty("to").GetString()).ToList();
        Assert.Equal(["Starting", "Failed"], steps);

        if (provider == "evolution")
        {
            // Logout could not end the loop (400 "not connected"): the instance was deleted, which does.
            await Eventually.WaitAsync(() => emulator.InspectAsync(provider, instance), i => !i.GetProperty("exists").GetBoolean(), "the looping instance to be deleted");
            Assert.True(await InboxRowsAsync(app, id) <= 3, $"the loop's connecting webhooks were collapsed ({await InboxRowsAsync(app, id)} rows)");
        }
        else
        {
            // close-session of an INITIALIZING session left a browser no API call ends: the operator is told, and the number
            // gets a fresh name for its next attempt.
            var left = await emulator.InspectAsync(provider, instance);
            Assert.True(left.GetProperty("browserLocked").GetBoolean());
            var gateway = await GatewayAsync(app, gateways.WppConnect);
            var leftover = gateway.GetProperty("leftovers").EnumerateArray().First(l => l.GetProperty("kind").GetString() == "locked_browser");
            Assert.Equal(instance, leftover.GetProperty("instanceName").GetString());
            Assert.Contains("Restart the gateway server", leftover.GetProperty("action").GetString());
            Assert.NotEqual(instance, (await t.SessionAsync(id)).GetProperty("instanceName").GetString());
        }
        Assert.True(waited < TimeSpan.FromSeconds(25), $"took {waited}");
    }

    [Fact]
    public async Task AWppConnectRetryAfterALockedBrowserTimeoutConnectsWithoutAGatewayRestart()
    {
        var (app, emulator, t, gateways) = await StartAsync(appSettings: FastReconcile);
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        var (id, instance) = await NewNumberAsync(t, "WppConnect");
        await Http.ExpectAsync(await emulator.FaultAsync("wppconnect", instance, "unreachable"), HttpStatusCode.OK);
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.Accepted);
        await t.WaitForStateAsync(id, "Failed", TimeSpan.FromSeconds(30));
        await Http.ExpectAsync(await emulator.FaultAsync("wppconnect", instance, null), HttpStatusCode.OK);

        // WhatsApp is reachable again; the old name's browser is still locked, and the retry does not need it.
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.Accepted);
        var waiting = await t.WaitForStateAsync(id, "AwaitingScan");
        var fresh = waiting.GetProperty("instanceName").GetString()!;
        Assert.NotEqual(instance, fresh);
        Assert.True((await emulator.InspectAsync("wppconnect", instance)).GetProperty("browserLocked").GetBoolean());
        await Http.ExpectAsync(await emulator.ScanAsync("wppconnect", fresh, "5511977770009"), HttpStatusCode.OK);
        var connected = await t.WaitForStateAsync(id, "Connected");

        // The phone of a QR login on WPPConnect: no webhook names it, so ZapHub reads it from the gateway.
        await Eventually.WaitAsync(() => t.SessionAsync(id), s => s.GetProperty("phone").GetString() == "+5511977770009", "the linked phone");

        // The old name is reported with its browser and its token file (which the next server start relaunches); the
        // operator restarts the gateway, removes the file and marks both cleaned: nothing is left on the list.
        var reported = (await GatewayAsync(app, gateways.WppConnect)).GetProperty("leftovers").EnumerateArray()
            .Select(l => (l.GetProperty("instanceName").GetString(), l.GetProperty("kind").GetString())).ToHashSet();
        Assert.Equal([(instance, "locked_browser"), (instance, "stored_session")], reported);
        await Http.ExpectAsync(await emulator.Http.PostAsync("/_emulator/restart?keepData=true", null), HttpStatusCode.OK);
        Assert.False((await emulator.InspectAsync("wppconnect", instance)).GetProperty("browserLocked").GetBoolean());
        var op = await app.OperatorAsync();
        var cleaned = await Http.JsonAsync(await op.PostAsync($"/api/v1/admin/gateways/{gateways.WppConnect}/leftovers/resolve", null), HttpStatusCode.OK);
        Assert.Empty(cleaned.GetProperty("leftovers").EnumerateArray());
        Assert.Equal("Connected", connected.GetProperty("state").GetString());
    }

    [Fact]
    public async Task LogoutOrDeleteDuringEvolutionsLoopLeavesNothingOnTheGatewayAndTheNumberStaysDisconnected()
    {
        var (app, emulator, t, _) = await StartAsync();
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        var (id, instance) = await NewNumberAsync(t, "Evolution");
        await Http.ExpectAsync(await emulator.FaultAsync("evolution", instance, "unreachable"), HttpStatusCode.OK);
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.Accepted);
        await Eventually.WaitAsync(() => emulator.InspectAsync("evolution", instance), i => i.GetProperty("looping").GetBoolean(), "the gateway to loop");

        var loggedOut = await Http.JsonAsync(await t.Owner.PostAsync($"/api/v1/sessions/{id}/logout", null), HttpStatusCode.OK);
        Assert.Equal("Disconnected", loggedOut.GetProperty("state").GetString());
        Assert.False((await emulator.InspectAsync("evolution", instance)).GetProperty("exists").GetBoolean(), "the instance that looped was deleted");
        // The loop's last webhooks change nothing: the number does not go back to Starting.
        await Task.Delay(500);
        Assert.Equal("Disconnected", (await t.SessionAsync(id)).GetProperty("state").GetString());

        // The next connect creates the instance again: one click, no dead end.
        await Http.ExpectAsync(await emulator.FaultAsync("evolution", instance, null), HttpStatusCode.OK);
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.Accepted);
        await t.WaitForStateAsync(id, "AwaitingScan");

        // Delete during a loop: nothing left either.
        var (other, otherInstance) = await NewNumberAsync(t, "Evolution", "Caixa");
        await Http.ExpectAsync(await emulator.FaultAsync("evolution", otherInstance, "unreachable"), HttpStatusCode.OK);
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{other}/connect", new { }), HttpStatusCode.Accepted);
        await Http.ExpectAsync(await t.Owner.DeleteAsync($"/api/v1/sessions/{other}"), HttpStatusCode.NoContent);
        Assert.False((await emulator.InspectAsync("evolution", otherInstance)).GetProperty("exists").GetBoolean());
    }

    [Fact]
    public async Task CloseAndDeleteOfAnInitializingWppConnectSessionReportWhatOnlyTheOperatorCanClean()
    {
        var (app, emulator, t, gateways) = await StartAsync();
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        var (id, instance) = await NewNumberAsync(t, "WppConnect");
        await Http.ExpectAsync(await emulator.FaultAsync("wppconnect", instance, "unreachable"), HttpStatusCode.OK);
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.Accepted);
        await Eventually.WaitAsync(() => emulator.InspectAsync("wppconnect", instance), i => i.GetProperty("status").GetString() == "INITIALIZING", "INITIALIZING");

        // Logout of a starting number: the gateway's logout does nothing (404), so ZapHub closes it, and says what is left.
        var loggedOut = await Http.JsonAsync(await t.Owner.PostAsync($"/api/v1/sessions/{id}/logout", null), HttpStatusCode.OK);
        Assert.Equal("Disconnected", loggedOut.GetProperty("state").GetString());
        Assert.NotEqual(instance, loggedOut.GetProperty("instanceName").GetString());
        var left = await emulator.InspectAsync("wppconnect", instance);
        Assert.Null(left.GetProperty("status").GetString());
        var reported = (await GatewayAsync(app, gateways.WppConnect)).GetProperty("leftovers").EnumerateArray()
            .Select(l => (l.GetProperty("instanceName").GetString(), l.GetProperty("kind").GetString())).ToList();
        Assert.Equal([(instance, "locked_browser"), (instance, "stored_session")], reported);

        // Delete of a connected number: logged out, profile cleared; the token file no API removes is reported.
        var (other, otherInstance) = await t.ConnectedSessionAsync(emulator, "wppconnect", "WppConnect", "Caixa", "5511977770002");
        await Http.ExpectAsync(await t.Owner.DeleteAsync($"/api/v1/sessions/{other}"), HttpStatusCode.NoContent);
        var gone = await emulator.InspectAsync("wppconnect", otherInstance);
        Assert.False(gone.GetProperty("browserRunning").GetBoolean());
        Assert.False(gone.GetProperty("profileStored").GetBoolean());
        reported = (await GatewayAsync(app, gateways.WppConnect)).GetProperty("leftovers").EnumerateArray()
            .Select(l => (l.GetProperty("instanceName").GetString(), l.GetProperty("kind").GetString())).ToList();
        Assert.Contains((otherInstance, "stored_session"), reported);
        Assert.Equal(gone.GetProperty("tokenStored").GetBoolean(), reported.Contains((otherInstance, "stored_session")));
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task ASendAnsweredNotConnectedHoldsTheMessageAndTakesTheNumberOutOfConnected(string provider, string kind)
    {
        var (app, emulator, t, _) = await StartAsync();
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        await t.SettingsAsync();
        var (id, instance) = await t.ConnectedSessionAsync(emulator, provider, kind);

        // The gateway lost the socket (Evolution) or the whole client (WPPConnect) without a webhook.
        if (provider == "evolution") await Http.ExpectAsync(await emulator.FaultAsync(provider, instance, "socketless"), HttpStatusCode.OK);
        else await Http.ExpectAsync(await emulator.RestartAndForgetAsync(), HttpStatusCode.OK);

        var message = await t.SendAsync(new { to = "(11) 98888-7777", text = "Lembrete: amanhã 9h", sessionId = id });
        var held = await t.WaitForMessageAsync(message, "Held");
        Assert.Equal("session_not_connected", held.GetProperty("message").GetProperty("failureCategory").GetString());
        Assert.Equal(0, held.GetProperty("message").GetProperty("attempts").GetInt32());
        var number = await Eventually.WaitAsync(() => t.SessionAsync(id), s => s.GetProperty("state").GetString() != "Connected", "the number to leave Connected");
        Assert.Equal("Disconnected", number.GetProperty("state").GetString());
        // ZapHub then reads the gateway's own word on the number, which must agree: Evolution's database row still says
        // "open" for an instance whose socket it lost, and believing it would put the number back in Connected (and send
        // into the dead socket again, and again).
        number = await Eventually.WaitAsync(() => t.SessionAsync(id), s => s.GetProperty("rawState").GetString() != "not_connected", "the gateway's state to be read after the send");
        Assert.Equal("Disconnected", number.GetProperty("state").GetString());
        Assert.Empty(await emulator.MessagesAsync(instance));

        // Connected again: the held message goes out, once.
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.Accepted);
        var waiting = await t.WaitForStateAsync(id, "AwaitingScan");
        await Http.ExpectAsync(await emulator.ScanAsync(provider, waiting.GetProperty("instanceName").GetString()!), HttpStatusCode.OK);
        await t.WaitForStateAsync(id, "Connected");
        await t.WaitForMessageAsync(message, "Sent", TimeSpan.FromSeconds(60));
        Assert.Single(await emulator.MessagesAsync(""));
    }

    [Fact]
    public async Task AnEvolutionAttemptPastItsQrLimitIsReadFromBaileysNotFromItsDatabaseRow()
    {
        var (app, emulator, t, _) = await StartAsync([("EvolutionQrInterval", "00:00:00.300"), ("EvolutionQrLimit", "3")], FastReconcile);
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        var (id, instance) = await NewNumberAsync(t, "Evolution");
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.Accepted);
        await t.WaitForStateAsync(id, "AwaitingScan");

        // Its webhooks go nowhere from now on, so the "refused" that ends the attempt at the QR limit is lost. Baileys then
        // says "close"; the row fetchInstances lists keeps the "connecting" its last code wrote (contract §2).
        using (var unhook = new HttpRequestMessage(HttpMethod.Post, $"/evolution/webhook/set/{instance}"))
        {
            unhook.Headers.Add("apikey", EmulatorHost.EvolutionKey);
            unhook.Content = JsonContent.Create(new { webhook = new { enabled = true, url = "http://127.0.0.1:9/nowhere", byEvents = false, base64 = false, events = new[] { "CONNECTION_UPDATE" } } });
            await Http.ExpectAsync(await emulator.Http.SendAsync(unhook), HttpStatusCode.Created);
        }
        // The reconciler ends it: the owner is asked to connect again, not left with a code nobody can scan.
        var number = await Eventually.WaitAsync(() => t.SessionAsync(id), s => s.GetProperty("state").GetString() is not ("AwaitingScan" or "Starting"), "the attempt to end");
        Assert.Equal(("Disconnected", "qr_expired"), (number.GetProperty("state").GetString(), number.GetProperty("stateReason").GetString()));
        Assert.False(number.GetProperty("hasQr").GetBoolean());
        Assert.Equal("reconciler", (await TimelineAsync(t, id))[0].GetProperty("cause").GetString());
    }

    [Fact]
    public async Task AnEvolutionInstanceTheGatewayLostReconnectsWithOneClick()
    {
        var (app, emulator, t, _) = await StartAsync();
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        var (id, instance) = await t.ConnectedSessionAsync(emulator, "evolution", "Evolution");
        await Http.ExpectAsync(await emulator.UnlinkAsync("evolution", instance), HttpStatusCode.OK);
        await t.WaitForStateAsync(id, "Disconnected");
        await Http.ExpectAsync(await emulator.Http.PostAsync($"/_emulator/evolution/{instance}/lose", null), HttpStatusCode.OK);

        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.Accepted);
        await t.WaitForStateAsync(id, "AwaitingScan");
        await Http.ExpectAsync(await emulator.ScanAsync("evolution", instance), HttpStatusCode.OK);
        await t.WaitForStateAsync(id, "Connected");
    }

    [Fact]
    public async Task AnEvolutionInstanceTokenFailsTheOperatorsTestWithAClearMessage()
    {
        var (app, emulator, t, gateways) = await StartAsync();
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        var op = await app.OperatorAsync();
        var good = await Http.JsonAsync(await op.PostAsync($"/api/v1/admin/gateways/{gateways.Evolution}/test", null), HttpStatusCode.OK);
        Assert.True(good.GetProperty("lastCheckOk").GetBoolean());

        using var create = new HttpRequestMessage(HttpMethod.Post, "/evolution/instance/create")
        { Content = JsonContent.Create(new { instanceName = "outsider", integration = "WHATSAPP-BAILEYS" }) };
        create.Headers.Add("apikey", EmulatorHost.EvolutionKey);
        var token = (await (await emulator.Http.SendAsync(create)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("hash").GetString()!;
        var withToken = await app.RegisterGatewayAsync("Evolution", emulator.BaseUrl("evolution"), token);
        var tested = await Http.JsonAsync(await op.PostAsync($"/api/v1/admin/gateways/{withToken}/test", null), HttpStatusCode.OK);
        Assert.False(tested.GetProperty("lastCheckOk").GetBoolean());
        Assert.Contains("instance token", tested.GetProperty("lastCheckDetail").GetString());
        Assert.Equal("check_not_global_key", tested.GetProperty("lastCheckCode").GetString());
        Assert.Equal(t.Id, t.Id);
    }

    [Fact]
    public async Task AStormOfTenThousandConnectingWebhooksLeavesABoundedInboxAndTimeline()
    {
        var (app, emulator, t, _) = await StartAsync(
            [("EvolutionReconnectInterval", "01:00:00")], [("RateLimits:GatewayWebhooksPerSecond", "1000000")]);
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        var (id, instance) = await NewNumberAsync(t, "Evolution");
        await Http.ExpectAsync(await emulator.FaultAsync("evolution", instance, "unreachable"), HttpStatusCode.OK);
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.Accepted);

        var storm = await Http.JsonAsync(await emulator.Http.PostAsJsonAsync($"/_emulator/evolution/{instance}/storm", new { count = 10_000 }), HttpStatusCode.OK);
        var answers = storm.GetProperty("answers").EnumerateObject().ToDictionary(a => int.Parse(a.Name), a => a.Value.GetInt32());
        Assert.Equal(10_000, answers.Values.Sum());
        Assert.Equal(10_000, answers.GetValueOrDefault(200));

        var rows = await InboxRowsAsync(app, id);
        Assert.InRange(rows, 1, 5);
        Assert.Equal(["Starting"], (await TimelineAsync(t, id)).EnumerateArray().Select(e => e.GetProperty("to").GetString()).ToList());
        Assert.Equal("Starting", (await t.SessionAsync(id)).GetProperty("state").GetString());
    }
}

/// <summary>What a gateway sends is answered 4xx or 2xx, never 5xx, unless storage really is down.</summary>
public class GatewayWebhookEdgeTests
{
    private static async Task<string> CallbackUrlAsync(EmulatorHost emulator, string instance)
    {
        using var find = new HttpRequestMessage(HttpMethod.Get, $"/evolution/webhook/find/{instance}");
        find.Headers.Add("apikey", EmulatorHost.EvolutionKey);
        return (await (await emulator.Http.SendAsync(find)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("url").GetString()!;
    }

    [Theory]
    [InlineData("{\"event\":\"presence.update\",\"instance\":\"INSTANCE\",\"date_time\":\"\\ud800\"}")]
    [InlineData("{\"event\":\"presence.update\",\"instance\":\"INSTANCE\",\"date_time\":\"\\udfff\\ud800\",\"data\":{}}")]
    public async Task AnUnreadableDateTimeIsStoredNotAnsweredAsStorageTrouble(string body)
    {
        await using var emulator = await EmulatorHost.StartAsync();
        await using var app = new ZapHubApp();
        app.ServeOverKestrel();
        await app.RegisterEmulatorAsync(emulator);
        var t = await app.CreateTenantAsync();
        var (_, instance) = await t.ConnectedSessionAsync(emulator, "evolution", "Evolution");
        using var http = new HttpClient();
        var answer = await http.PostAsync(await CallbackUrlAsync(emulator, instance), new StringContent(body.Replace("INSTANCE", instance), System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
    }

    [Fact]
    public async Task TheInboxKeepsEvolutionBodiesWithoutTheInstanceTokenOrTheCallbackSecret()
    {
        await using var emulator = await EmulatorHost.StartAsync();
        await using var app = new ZapHubApp();
        app.ServeOverKestrel();
        await app.RegisterEmulatorAsync(emulator);
        var t = await app.CreateTenantAsync();
        var (id, instance) = await t.ConnectedSessionAsync(emulator, "evolution", "Evolution");
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/test-message", new { to = "(11) 98888-7777" }), HttpStatusCode.OK);
        using var fetch = new HttpRequestMessage(HttpMethod.Get, $"/evolution/instance/fetchInstances?instanceName={instance}");
        fetch.Headers.Add("apikey", EmulatorHost.EvolutionKey);
        var token = (await (await emulator.Http.SendAsync(fetch)).Content.ReadFromJsonAsync<JsonElement>())[0].GetProperty("token").GetString()!;
        var secret = (await CallbackUrlAsync(emulator, instance)).TrimEnd('/').Split('/')[^1];

        var op = await app.OperatorAsync();
        var inbox = await Eventually.WaitAsync(async () => await op.GetStringAsync($"/api/v1/admin/gateway-events?sessionId={id}&limit=1000"),
            text => text.Contains("messages.update"), "the send's receipts in the inbox");
        var bodies = JsonDocument.Parse(inbox).RootElement.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("body").GetString()!).ToList();
        Assert.All(bodies, body => Assert.Contains("\"apikey\":\"***\"", body));
        Assert.All(bodies, body => Assert.Contains("\"destination\":\"***\"", body));
        Assert.DoesNotContain(token, inbox);
        Assert.DoesNotContain(secret, inbox);
    }

    [Fact]
    [Trait("Category", "PostgresOnly")]
    public async Task AWebhookRacingTheDeleteOfItsNumberIsNotFoundNotServiceUnavailable()
    {
        await using var emulator = await EmulatorHost.StartAsync();
        await using var nodeA = new ZapHubApp();
        nodeA.ServeOverKestrel();
        await nodeA.RegisterEmulatorAsync(emulator);
        await using var nodeB = new ZapHubApp(shareDatabaseWith: nodeA);
        var receiverB = nodeB.Anonymous();
        var t = await nodeA.CreateTenantAsync();
        var (id, instance) = await t.ConnectedSessionAsync(emulator, "evolution", "Evolution");
        var path = new Uri(await CallbackUrlAsync(emulator, instance)).PathAndQuery;
        string Event(int n) => $"{{\"event\":\"presence.update\",\"instance\":\"{instance}\",\"data\":{{\"n\":{n}}},\"date_time\":\"2026-12-01T10:00:00.{n:D3}Z\"}}";

        // Node B has seen the number (its secret is cached there); node A deletes it.
        Assert.Equal(HttpStatusCode.OK, (await receiverB.PostAsync(path, new StringContent(Event(1), System.Text.Encoding.UTF8, "application/json"))).StatusCode);
        await Http.ExpectAsync(await t.Owner.DeleteAsync($"/api/v1/sessions/{id}"), HttpStatusCode.NoContent);

        var late = await receiverB.PostAsync(path, new StringContent(Event(2), System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NotFound, late.StatusCode);
    }
}
