using System.Net;
using System.Net.Http.Json;
using ZapHub.IntegrationTests.Infrastructure;

namespace ZapHub.IntegrationTests;

public class SessionManagementTests
{
    [Fact]
    public async Task OneTenantHasOnePrimaryNumber()
    {
        await using var app = new ZapHubApp();
        await app.RegisterGatewayAsync("Evolution", "http://127.0.0.1:9", "unused");
        var t = await app.CreateTenantAsync();
        var first = await t.CreateSessionAsync("Primeiro");
        var second = await t.CreateSessionAsync("Segundo");
        Assert.True(first.GetProperty("isPrimary").GetBoolean());
        Assert.False(second.GetProperty("isPrimary").GetBoolean());

        await Http.ExpectAsync(await t.Owner.PostAsync($"/api/v1/sessions/{second.GetProperty("id")}/primary", null), HttpStatusCode.OK);
        var all = await Http.JsonAsync(await t.Owner.GetAsync("/api/v1/sessions"), HttpStatusCode.OK);
        Assert.Equal(["Segundo"], all.EnumerateArray().Where(s => s.GetProperty("isPrimary").GetBoolean()).Select(s => s.GetProperty("displayName").GetString()));
    }

    [Fact]
    public async Task DisabledNumbersCannotConnectUntilEnabledAndSettingsAreValidated()
    {
        await using var app = new ZapHubApp();
        await app.RegisterGatewayAsync("Evolution", "http://127.0.0.1:9", "unused");
        var t = await app.CreateTenantAsync();
        var id = (await t.CreateSessionAsync()).GetProperty("id").GetGuid();

        var disabled = await Http.JsonAsync(await t.Owner.PostAsync($"/api/v1/sessions/{id}/disable", null), HttpStatusCode.OK);
        Assert.Equal("Disabled", disabled.GetProperty("state").GetString());
        var refused = await Http.JsonAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.Conflict);
        Assert.Equal("session_disabled", refused.GetProperty("code").GetString());
        var enabled = await Http.JsonAsync(await t.Owner.PostAsync($"/api/v1/sessions/{id}/enable", null), HttpStatusCode.OK);
        Assert.Equal("Disconnected", enabled.GetProperty("state").GetString());

        var renamed = await Http.JsonAsync(await t.Owner.PatchAsJsonAsync($"/api/v1/sessions/{id}", new { displayName = "Caixa", dailyLimit = 200 }), HttpStatusCode.OK);
        Assert.Equal(("Caixa", 200), (renamed.GetProperty("displayName").GetString(), renamed.GetProperty("dailyLimit").GetInt32()));
        var bad = await Http.JsonAsync(await t.Owner.PatchAsJsonAsync($"/api/v1/sessions/{id}", new { dailyLimit = 0 }), HttpStatusCode.BadRequest);
        Assert.True(bad.GetProperty("errors").TryGetProperty("dailyLimit", out _));
        var audit = await t.Owner.GetStringAsync("/api/v1/audit");
        Assert.Contains("session.disabled", audit);
        Assert.Contains("session.settings", audit);
    }

    [Fact]
    public async Task TheDailyLimitStopsTestSendsWithAClearReason()
    {
        var emulator = await EmulatorHost.StartAsync();
        await using var emulatorLifetime = emulator;
        await using var app = new ZapHubApp();
        app.ServeOverKestrel();
        await app.RegisterEmulatorAsync(emulator);
        var t = await app.CreateTenantAsync();
        var session = await t.CreateSessionAsync("Recepção", "Evolution");
        var id = session.GetProperty("id").GetGuid();
        await Http.ExpectAsync(await t.Owner.PatchAsJsonAsync($"/api/v1/sessions/{id}", new { dailyLimit = 1 }), HttpStatusCode.OK);
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.Accepted);
        await t.WaitForStateAsync(id, "AwaitingScan");
        await emulator.ScanAsync("evolution", session.GetProperty("instanceName").GetString()!);
        await t.WaitForStateAsync(id, "Connected");

        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/test-message", new { to = "(11) 98888-7777" }), HttpStatusCode.OK);
        var limited = await Http.JsonAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/test-message", new { to = "(11) 98888-7777" }), HttpStatusCode.Conflict);
        Assert.Equal("daily_limit_reached", limited.GetProperty("code").GetString());

        // Restart keeps a logged-in number: Evolution reconnects it without a new scan.
        await Http.ExpectAsync(await t.Owner.PostAsync($"/api/v1/sessions/{id}/restart", null), HttpStatusCode.OK);
        await t.WaitForStateAsync(id, "Connected");
    }

    [Fact]
    public async Task AGatewayATenantBroughtServesOnlyThatTenant()
    {
        await using var app = new ZapHubApp();
        var a = await app.CreateTenantAsync();
        var b = await app.CreateTenantAsync();
        var op = await app.OperatorAsync();
        var own = await Http.JsonAsync(await op.PostAsJsonAsync("/api/v1/admin/gateways",
            new { name = "Servidor da A", kind = "Evolution", baseUrl = "http://127.0.0.1:9", credentials = "k", ownerTenantId = a.Id }), HttpStatusCode.Created);
        var gatewayId = own.GetProperty("id").GetGuid();
        Assert.False(own.TryGetProperty("credentials", out _));

        await Http.ExpectAsync(await a.Owner.PostAsJsonAsync("/api/v1/sessions", new { displayName = "A", gatewayId }), HttpStatusCode.Created);
        var refused = await Http.JsonAsync(await b.Owner.PostAsJsonAsync("/api/v1/sessions", new { displayName = "B", gatewayId }), HttpStatusCode.BadRequest);
        Assert.Equal("gateway_unknown", refused.GetProperty("code").GetString());
        var none = await Http.JsonAsync(await b.Owner.PostAsJsonAsync("/api/v1/sessions", new { displayName = "B" }), HttpStatusCode.Conflict);
        Assert.Equal("no_gateway_capacity", none.GetProperty("code").GetString());
    }

    [Fact]
    public async Task WppConnectSecretsTooLongForBcryptAreRefused()
    {
        await using var app = new ZapHubApp();
        var op = await app.OperatorAsync();
        var problem = await Http.JsonAsync(await op.PostAsJsonAsync("/api/v1/admin/gateways",
            new { name = "WPP", kind = "WppConnect", baseUrl = "http://127.0.0.1:21465", credentials = new string('s', 61) }), HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("credentials", out _));
    }

    [Fact]
    public async Task TheSessionsApiIsInTheOpenApiDocument()
    {
        await using var app = new ZapHubApp();
        var doc = await app.Anonymous().GetStringAsync("/openapi/v1.json");
        foreach (var path in new[] { "/api/v1/sessions", "/api/v1/sessions/{sessionId}/connect", "/api/v1/sessions/{sessionId}/qr", "/api/v1/sessions/{sessionId}/test-message", "/api/v1/admin/gateways" })
            Assert.Contains($"\"{path}\"", doc);
    }
}
