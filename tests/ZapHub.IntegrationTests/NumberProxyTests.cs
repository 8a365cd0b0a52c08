using System.Net;
using System.Net.Http.Json;
using ZapHub.IntegrationTests.Infrastructure;

namespace ZapHub.IntegrationTests;

/// <summary>A number's own proxy reaches its gateway the way each provider takes it, and its credentials are never shown back nor stored readable.</summary>
public class NumberProxyTests
{
    public static TheoryData<string, string> Providers => new() { { "evolution", "Evolution" }, { "wppconnect", "WppConnect" } };

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task ANumbersProxyGoesToItsGatewayWithItsCredentialsAndIsNeverShownBack(string provider, string kind)
    {
        await using var emulator = await EmulatorHost.StartAsync();
        await using var app = new ZapHubApp().CaptureLogs();
        app.ServeOverKestrel();
        await app.RegisterEmulatorAsync(emulator);
        var t = await app.CreateTenantAsync();
        var created = await Http.JsonAsync(await t.Owner.PostAsJsonAsync("/api/v1/sessions",
            new { displayName = "Recepção", kind, proxy = "socks5://zap:segredo-do-proxy@proxy.test:1080" }), HttpStatusCode.Created);
        var (id, instance) = (created.GetProperty("id").GetGuid(), created.GetProperty("instanceName").GetString()!);
        Assert.True(created.GetProperty("hasProxy").GetBoolean());

        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.Accepted);
        await t.WaitForStateAsync(id, "AwaitingScan");
        var held = await emulator.InspectAsync(provider, instance);
        Assert.Equal(("socks5://proxy.test:1080", "zap"), (held.GetProperty("proxy").GetString(), held.GetProperty("proxyUsername").GetString()));
        if (provider == "evolution") Assert.True(held.GetProperty("proxyPasswordGiven").GetBoolean());

        Assert.DoesNotContain("segredo-do-proxy", (await t.Owner.GetStringAsync($"/api/v1/sessions/{id}")) + await t.Owner.GetStringAsync("/api/v1/sessions"));
        var stored = Assert.Single(await app.Database.StringsAsync("SELECT \"ProtectedProxy\" FROM \"Sessions\" WHERE \"ProtectedProxy\" IS NOT NULL"));
        Assert.DoesNotContain("segredo", stored);
        Assert.DoesNotContain(app.Logs!.Lines, l => l.Contains("segredo-do-proxy"));

        // A malformed proxy is refused with a clear error; "" removes it.
        var bad = await Http.JsonAsync(await t.Owner.PatchAsJsonAsync($"/api/v1/sessions/{id}", new { proxy = "ftp://proxy.test" }), HttpStatusCode.BadRequest);
        Assert.Equal("session_proxy", bad.GetProperty("code").GetString());
        Assert.False((await Http.JsonAsync(await t.Owner.PatchAsJsonAsync($"/api/v1/sessions/{id}", new { proxy = "" }), HttpStatusCode.OK)).GetProperty("hasProxy").GetBoolean());
    }

    [Fact]
    public async Task AProxyEvolutionCannotReachStopsTheConnectionWithAReasonTheOwnerReads()
    {
        await using var emulator = await EmulatorHost.StartAsync();
        await using var app = new ZapHubApp();
        await app.RegisterEmulatorAsync(emulator);
        var t = await app.CreateTenantAsync();
        var id = (await Http.JsonAsync(await t.Owner.PostAsJsonAsync("/api/v1/sessions",
            new { displayName = "Recepção", kind = "Evolution", proxy = "http://down.invalid:3128" }), HttpStatusCode.Created)).GetProperty("id").GetGuid();
        var refused = await Http.JsonAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.BadGateway);
        Assert.Equal("gateway_error", refused.GetProperty("code").GetString());
        Assert.Contains("Invalid proxy", refused.GetProperty("title").GetString());
        Assert.Contains("Invalid proxy", (await t.SessionAsync(id)).GetProperty("lastError").GetString());
    }
}
