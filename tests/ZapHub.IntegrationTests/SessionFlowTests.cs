using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ZapHub.IntegrationTests.Infrastructure;

namespace ZapHub.IntegrationTests;

/// <summary>
/// A tenant connects a number through ZapHub's API against the gateway emulator over loopback HTTP, for both
/// providers. The emulator plays the phone; webhooks travel back to ZapHub for real.
/// </summary>
public class SessionFlowTests
{
    public static TheoryData<string, string> Providers => new() { { "evolution", "Evolution" }, { "wppconnect", "WppConnect" } };

    private static async Task<(ZapHubApp App, EmulatorHost Emulator, TestTenant Tenant)> StartAsync(
        (string, string)[]? emulatorSettings = null, params (string Key, string Value)[] appSettings)
    {
        var emulator = await EmulatorHost.StartAsync(emulatorSettings ?? []);
        var app = new ZapHubApp();
        foreach (var (k, v) in appSettings) app.With(k, v);
        app.ServeOverKestrel();
        await app.RegisterEmulatorAsync(emulator);
        return (app, emulator, await app.CreateTenantAsync());
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task ConnectScanSendUnlinkReconnectAndDelete(string provider, string kind)
    {
        var (app, emulator, t) = await StartAsync();
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;

        var created = await t.CreateSessionAsync("Recepção", kind);
        Assert.Equal("Created", created.GetProperty("state").GetString());
        Assert.Equal(kind, created.GetProperty("gatewayKind").GetString());
        var id = created.GetProperty("id").GetGuid();
        var instance = created.GetProperty("instanceName").GetString()!;

        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { mode = "qr" }), HttpStatusCode.Accepted);
        await t.WaitForStateAsync(id, "AwaitingScan");
        var qr = await Http.JsonAsync(await t.Owner.GetAsync($"/api/v1/sessions/{id}/qr"), HttpStatusCode.OK);
        Assert.StartsWith("2@", qr.GetProperty("code").GetString());
        Assert.StartsWith("data:image/png;base64,", qr.GetProperty("image").GetString());
        Assert.True(qr.GetProperty("expiresAt").GetDateTime() > DateTime.UtcNow);

        await Http.ExpectAsync(await emulator.ScanAsync(provider, instance, "5511999990001", "Barbearia do Zé"), HttpStatusCode.OK);
        var connected = await t.WaitForStateAsync(id, "Connected");
        if (provider == "evolution")
        {
            Assert.Equal("+5511999990001", connected.GetProperty("phone").GetString());
            Assert.Equal("Barbearia do Zé", connected.GetProperty("profileName").GetString());
        }

        var sent = await Http.JsonAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/test-message", new { to = "(11) 98888-7777", text = "Seu horário está confirmado" }), HttpStatusCode.OK);
        Assert.Equal("+5511988887777", sent.GetProperty("to").GetString());
        var received = await emulator.MessagesAsync(instance);
        Assert.Contains(received, m => m.GetProperty("to").GetString() == "5511988887777" && m.GetProperty("text").GetString() == "Seu horário está confirmado");
        Assert.Equal(1, (await t.SessionAsync(id)).GetProperty("sentToday").GetInt32());
        // It is listed with the other messages (it counted as sent today) and follows its receipts.
        var listed = (await Http.JsonAsync(await t.Owner.GetAsync("/api/v1/messages"), HttpStatusCode.OK)).EnumerateArray()
            .Single(m => m.GetProperty("text").GetString() == "Seu horário está confirmado");
        Assert.Equal("+5511988887777", listed.GetProperty("peer").GetString());
        Assert.Contains(listed.GetProperty("status").GetString(), new[] { "Sent", "Delivered", "Read" });

        await Http.ExpectAsync(await emulator.UnlinkAsync(provider, instance), HttpStatusCode.OK);
        var disconnected = await t.WaitForStateAsync(id, "Disconnected");
        Assert.Contains(disconnected.GetProperty("stateReason").GetString(), new[] { "logged_out", "unlinked_from_phone" });

        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.Accepted);
        await t.WaitForStateAsync(id, "AwaitingScan");
        await Http.ExpectAsync(await emulator.ScanAsync(provider, instance), HttpStatusCode.OK);
        await t.WaitForStateAsync(id, "Connected");

        var timeline = await Http.JsonAsync(await t.Owner.GetAsync($"/api/v1/sessions/{id}/timeline"), HttpStatusCode.OK);
        var steps = timeline.EnumerateArray().Reverse().Select(e => e.GetProperty("to").GetString()).ToList();
        // The attempt opens it: ZapHub's record of the request, unless the gateway's QR report overtook the gateway's own
        // answer (then the request is not recorded over the newer state; the audit trail still has it).
        Assert.Contains(steps[0], new[] { "Starting", "AwaitingScan" });
        Assert.Contains("AwaitingScan", steps.Take(2));
        Assert.Equal(2, steps.Count(s => s == "Connected"));
        Assert.Contains("Disconnected", steps);

        await Http.ExpectAsync(await t.Owner.DeleteAsync($"/api/v1/sessions/{id}"), HttpStatusCode.NoContent);
        await Http.ExpectAsync(await t.Owner.GetAsync($"/api/v1/sessions/{id}"), HttpStatusCode.NotFound);
        var left = await emulator.InstancesAsync();
        Assert.DoesNotContain(left.GetProperty(provider).EnumerateArray(), i => i.GetProperty("name").GetString() == instance && i.GetProperty("state").GetString() is "open" or "CONNECTED");
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task PairingCodeConnectsWithoutAScan(string provider, string kind)
    {
        var (app, emulator, t) = await StartAsync();
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        var session = await t.CreateSessionAsync("Celular da clínica", kind);
        var id = session.GetProperty("id").GetGuid();

        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { mode = "pairing", phone = "(11) 97777-0001" }), HttpStatusCode.Accepted);
        var waiting = await Eventually.WaitAsync(async () => await Http.JsonAsync(await t.Owner.GetAsync($"/api/v1/sessions/{id}/qr"), HttpStatusCode.OK),
            q => q.GetProperty("pairingCode").ValueKind == JsonValueKind.String, "a pairing code");
        var code = waiting.GetProperty("pairingCode").GetString()!;
        Assert.Equal(8, code.Length);

        await Http.ExpectAsync(await emulator.PairAsync(provider, session.GetProperty("instanceName").GetString()!, code, "5511977770001"), HttpStatusCode.OK);
        var connected = await t.WaitForStateAsync(id, "Connected");
        Assert.Equal("+5511977770001", connected.GetProperty("phone").GetString());
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task APairingCodeThatOvertakesTheConnectAnswerIsKept(string provider, string kind)
    {
        var (app, emulator, t) = await StartAsync();
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        var session = await t.CreateSessionAsync("Recepção", kind);
        var id = session.GetProperty("id").GetGuid();

        // The gateway starts the attempt at once but answers late: its webhooks are stored and applied before ZapHub
        // records the answer, and recording it must not reset what they brought.
        await Http.ExpectAsync(await emulator.FaultsAsync(new { answerDelayMs = 1000 }), HttpStatusCode.OK);
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { mode = "pairing", phone = "(11) 97777-0002" }), HttpStatusCode.Accepted);
        await Http.ExpectAsync(await emulator.FaultsAsync(new { answerDelayMs = 0 }), HttpStatusCode.OK);
        var waiting = await Eventually.WaitAsync(async () => await Http.JsonAsync(await t.Owner.GetAsync($"/api/v1/sessions/{id}/qr"), HttpStatusCode.OK),
            q => q.GetProperty("pairingCode").ValueKind == JsonValueKind.String, "the pairing code", TimeSpan.FromSeconds(15));

        await Http.ExpectAsync(await emulator.PairAsync(provider, session.GetProperty("instanceName").GetString()!, waiting.GetProperty("pairingCode").GetString()!, "5511977770002"), HttpStatusCode.OK);
        Assert.Equal("+5511977770002", (await t.WaitForStateAsync(id, "Connected")).GetProperty("phone").GetString());
    }

    [Fact]
    public async Task PairingNeedsAPhoneAndAPlausibleNumber()
    {
        var (app, emulator, t) = await StartAsync();
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        var id = (await t.CreateSessionAsync()).GetProperty("id").GetGuid();
        var missing = await Http.JsonAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { mode = "pairing" }), HttpStatusCode.BadRequest);
        Assert.True(missing.GetProperty("errors").TryGetProperty("phone", out _));
        var bad = await Http.JsonAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { mode = "pairing", phone = "12" }), HttpStatusCode.BadRequest);
        Assert.True(bad.GetProperty("errors").TryGetProperty("phone", out _));
        Assert.Equal("Created", (await t.SessionAsync(id)).GetProperty("state").GetString());
    }

    [Theory]
    [InlineData("(11) 99999-0001", "+5511999990001")]
    [InlineData("+55 11 99999-0001", "+5511999990001")]
    [InlineData("11 8888-0001", "+5511988880001")]
    [InlineData("011 99999 0001", "+5511999990001")]
    public async Task TestMessageAcceptsBrazilianNumbersTypedAnyCommonWay(string typed, string e164)
    {
        var (app, emulator, t) = await StartAsync();
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        var (id, instance) = await t.ConnectedSessionAsync(emulator, "evolution", "Evolution");
        var sent = await Http.JsonAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/test-message", new { to = typed }), HttpStatusCode.OK);
        Assert.Equal(e164, sent.GetProperty("to").GetString());
        Assert.Contains(await emulator.MessagesAsync(instance), m => "+" + m.GetProperty("to").GetString() == e164);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task TestMessageErrorsAreClear(string provider, string kind)
    {
        var (app, emulator, t) = await StartAsync();
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        var idle = (await t.CreateSessionAsync("Parado", kind)).GetProperty("id").GetGuid();
        var notConnected = await Http.JsonAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{idle}/test-message", new { to = "(11) 99999-0001" }), HttpStatusCode.Conflict);
        Assert.Equal("session_not_connected", notConnected.GetProperty("code").GetString());

        var (id, _) = await t.ConnectedSessionAsync(emulator, provider, kind);
        var invalid = await Http.JsonAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/test-message", new { to = "1234" }), HttpStatusCode.BadRequest);
        Assert.True(invalid.GetProperty("errors").TryGetProperty("to", out _));
    }

    [Fact]
    public async Task QrCodesRefreshAndZapHubStopsAfterItsBound()
    {
        // Codes a second and a half apart: a person reads one before the next; a busy machine's processing delay (a few
        // hundred ms) must not fold two codes into one read.
        var (app, emulator, t) = await StartAsync([("EvolutionQrInterval", "00:00:01.500")], ("Sessions:MaxQrCodes", "3"));
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        var id = (await t.CreateSessionAsync("Recepção", "Evolution")).GetProperty("id").GetGuid();
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.Accepted);

        var codes = new HashSet<string>();
        var final = await Eventually.WaitAsync(async () =>
        {
            var qr = await Http.JsonAsync(await t.Owner.GetAsync($"/api/v1/sessions/{id}/qr"), HttpStatusCode.OK);
            if (qr.GetProperty("code").GetString() is { } code) codes.Add(code);
            return qr;
        }, qr => qr.GetProperty("state").GetString() == "Disconnected", "the QR attempt to end", TimeSpan.FromSeconds(60));
        Assert.True(codes.Count >= 2, $"saw {codes.Count} distinct codes");
        Assert.Equal("qr_expired", (await t.SessionAsync(id)).GetProperty("stateReason").GetString());
        // ZapHub also ended the attempt on the gateway.
        await Eventually.WaitAsync(emulator.InstancesAsync, i => i.GetProperty("evolution")[0].GetProperty("state").GetString() == "close", "the gateway attempt to close");
    }

    [Fact]
    public async Task EvolutionsOwnQrLimitEndsTheAttempt()
    {
        var (app, emulator, t) = await StartAsync([("EvolutionQrInterval", "00:00:00.200"), ("EvolutionQrLimit", "2")], ("Sessions:MaxQrCodes", "50"));
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        var id = (await t.CreateSessionAsync("Recepção", "Evolution")).GetProperty("id").GetGuid();
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.Accepted);
        var ended = await t.WaitForStateAsync(id, "Disconnected");
        Assert.Equal("qr_limit", ended.GetProperty("stateReason").GetString());
    }

    [Fact]
    public async Task WppConnectAutoClosesWhenNobodyScans()
    {
        var (app, emulator, t) = await StartAsync([("WppAutoClose", "00:00:00.800")]);
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        var id = (await t.CreateSessionAsync("Recepção", "WppConnect")).GetProperty("id").GetGuid();
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.Accepted);
        await t.WaitForStateAsync(id, "AwaitingScan");
        var ended = await t.WaitForStateAsync(id, "Disconnected");
        Assert.Equal("qr_expired", ended.GetProperty("stateReason").GetString());
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task AStartThatNeverFinishesFailsWithAReason(string provider, string kind)
    {
        var (app, emulator, t) = await StartAsync(null,
            ("Sessions:StartingTimeout", "00:00:01"), ("Sessions:ReconcileInterval", "00:00:00.200"), ("Sessions:TransitionalCheckInterval", "00:00:00.100"));
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        await emulator.FaultsAsync(new { stallStarts = true });
        var id = (await t.CreateSessionAsync("Recepção", kind)).GetProperty("id").GetGuid();
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.Accepted);
        Assert.Equal("Starting", (await t.SessionAsync(id)).GetProperty("state").GetString());
        var failed = await t.WaitForStateAsync(id, "Failed");
        Assert.Equal("start_timeout", failed.GetProperty("stateReason").GetString());
        Assert.False(string.IsNullOrEmpty(failed.GetProperty("lastError").GetString()));
        Assert.Equal(provider, provider);
    }

    [Fact]
    public async Task AReconnectLoopIsCutByTheBreaker()
    {
        var (app, emulator, t) = await StartAsync(null, ("Sessions:FlapLimit", "3"));
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        var (id, instance) = await t.ConnectedSessionAsync(emulator, "evolution", "Evolution");
        for (var i = 0; i < 3; i++)
        {
            await Http.ExpectAsync(await emulator.DropAsync("evolution", instance), HttpStatusCode.OK);
            if (i < 2) await Eventually.WaitAsync(() => t.SessionAsync(id), s => s.GetProperty("state").GetString() == "Connected", "reconnect");
            await Task.Delay(150);
        }
        var failed = await t.WaitForStateAsync(id, "Failed");
        Assert.Equal("reconnect_loop", failed.GetProperty("stateReason").GetString());
        // A person can try again once the phone is fixed.
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.Accepted);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task AGatewayRestartThatForgotItsInstancesIsRepairedByTheReconciler(string provider, string kind)
    {
        var (app, emulator, t) = await StartAsync(null,
            ("Sessions:ReconcileInterval", "00:00:00.200"), ("Sessions:SilenceThreshold", "00:00:00.500"));
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        var (id, instance) = await t.ConnectedSessionAsync(emulator, provider, kind);

        await Http.ExpectAsync(await emulator.RestartAndForgetAsync(), HttpStatusCode.OK);
        var repaired = await t.WaitForStateAsync(id, "Disconnected");
        Assert.Equal("gateway_lost_instance", repaired.GetProperty("stateReason").GetString());

        // The instance exists again with its webhook, so connecting works as before.
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.Accepted);
        await t.WaitForStateAsync(id, "AwaitingScan");
        await Http.ExpectAsync(await emulator.ScanAsync(provider, instance), HttpStatusCode.OK);
        await t.WaitForStateAsync(id, "Connected");
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task AGatewayThatIsDownGivesAClearErrorAndRecoveryFollowsWhenItReturns(string provider, string kind)
    {
        var (app, emulator, t) = await StartAsync(null,
            ("Sessions:ReconcileInterval", "00:00:00.200"), ("Sessions:SilenceThreshold", "00:00:00.300"), ("Gateways:ReadTimeout", "00:00:03"), ("Gateways:LongTimeout", "00:00:03"));
        await using var appLifetime = app;
        await using var emulatorLifetime = emulator;
        var (id, _) = await t.ConnectedSessionAsync(emulator, provider, kind);
        var idle = (await t.CreateSessionAsync("Outro", kind)).GetProperty("id").GetGuid();

        await emulator.StopAsync();
        var send = await Http.JsonAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/test-message", new { to = "(11) 98888-7777" }), HttpStatusCode.ServiceUnavailable);
        Assert.Equal("gateway_unavailable", send.GetProperty("code").GetString());
        var connect = await Http.JsonAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{idle}/connect", new { }), HttpStatusCode.ServiceUnavailable);
        Assert.Equal("gateway_unavailable", connect.GetProperty("code").GetString());
        await Eventually.WaitAsync(() => t.SessionAsync(id), s => s.GetProperty("lastError").ValueKind == JsonValueKind.String, "the reconciler to note the outage");
        Assert.Equal("Connected", (await t.SessionAsync(id)).GetProperty("state").GetString());
        Assert.Equal("Healthy", await app.Anonymous().GetStringAsync("/health/ready"));

        await emulator.StartAsync();
        // The emulator came back empty (a real one would reload its sessions); either way ZapHub works again.
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{idle}/connect", new { }), HttpStatusCode.Accepted);
        await t.WaitForStateAsync(idle, "AwaitingScan");
    }
}
