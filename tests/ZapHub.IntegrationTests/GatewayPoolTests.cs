using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using ZapHub.Features.Sessions;
using ZapHub.IntegrationTests.Infrastructure;

namespace ZapHub.IntegrationTests;

/// <summary>
/// Lists that stay usable at any size (pages, filters, search), and gateways as a pool: placement, draining, moving a
/// number, and a gateway that stops answering shown as such on its numbers.
/// </summary>
public class GatewayPoolTests
{
    private static async Task<(int Total, List<JsonElement> Items, string? Link)> PageAsync(HttpClient client, string url)
    {
        using var response = await client.GetAsync(url);
        var items = (await Http.JsonAsync(response, HttpStatusCode.OK)).EnumerateArray().ToList();
        return (int.Parse(response.Headers.GetValues("X-Total-Count").Single()), items,
            response.Headers.TryGetValues("Link", out var link) ? link.Single() : null);
    }

    [Fact]
    public async Task TheTenantsAndTheOperatorsListsComeInPagesWithFiltersAndSearch()
    {
        await using var app = new ZapHubApp();
        await using var emulator = await EmulatorHost.StartAsync();
        var gateway = await app.RegisterGatewayAsync("Evolution", emulator.BaseUrl("evolution"), EmulatorHost.EvolutionKey, capacity: 100);
        var tenant = await app.CreateTenantAsync();
        var other = await app.CreateTenantAsync();
        for (var i = 0; i < 7; i++) await tenant.CreateSessionAsync($"Loja {i}");
        await other.CreateSessionAsync("Outra loja");

        var (total, items, link) = await PageAsync(tenant.Owner, "/api/v1/sessions?pageSize=3&page=2");
        Assert.Equal(7, total);
        Assert.Equal(["Loja 3", "Loja 4", "Loja 5"], items.Select(s => s.GetProperty("displayName").GetString()));
        Assert.Contains("page=3", link);
        Assert.Contains("rel=\"next\"", link);
        Assert.Contains("rel=\"prev\"", link);
        var last = await PageAsync(tenant.Owner, "/api/v1/sessions?pageSize=3&page=3");
        Assert.Single(last.Items);
        Assert.DoesNotContain("next", last.Link);
        Assert.Equal(["Loja 6"], (await PageAsync(tenant.Owner, "/api/v1/sessions?search=loja%206")).Items.Select(s => s.GetProperty("displayName").GetString()));
        Assert.Equal(0, (await PageAsync(tenant.Owner, "/api/v1/sessions?state=Connected")).Total);
        // Without paging parameters a caller of the old unpaged list still reads an array (the first page).
        Assert.Equal(7, (await PageAsync(tenant.Owner, "/api/v1/sessions")).Items.Count);
        Assert.Equal(HttpStatusCode.BadRequest, (await tenant.Owner.GetAsync("/api/v1/sessions?page=x")).StatusCode);

        var op = await app.OperatorAsync();
        Assert.Equal(8, (await PageAsync(op, $"/api/v1/admin/sessions?gatewayId={gateway}&pageSize=2")).Total);
        var mine = await PageAsync(op, $"/api/v1/admin/sessions?tenantId={tenant.Id}&pageSize=5&page=2");
        Assert.Equal(7, mine.Total);
        Assert.Equal(2, mine.Items.Count);
        Assert.All(mine.Items, r => Assert.Equal(tenant.Id, r.GetProperty("tenantId").GetGuid()));
        Assert.Equal(1, (await PageAsync(op, "/api/v1/admin/sessions?search=outra")).Total);
        // A tenant's key cannot read the operator's list.
        Assert.Equal(HttpStatusCode.Forbidden, (await tenant.Owner.GetAsync("/api/v1/admin/sessions")).StatusCode);
    }

    [Fact]
    public async Task NewNumbersAvoidADrainingGatewayAndADisconnectedNumberMovesToAnotherAndConnectsThere()
    {
        await using var app = new ZapHubApp();
        app.ServeOverKestrel();
        await using var first = await EmulatorHost.StartAsync();
        await using var second = await EmulatorHost.StartAsync();
        var a = await app.RegisterGatewayAsync("Evolution", first.BaseUrl("evolution"), EmulatorHost.EvolutionKey, capacity: 10);
        var b = await app.RegisterGatewayAsync("Evolution", second.BaseUrl("evolution"), EmulatorHost.EvolutionKey, capacity: 10);
        var op = await app.OperatorAsync();
        var gw = (await Http.JsonAsync(await op.GetAsync("/api/v1/admin/gateways"), HttpStatusCode.OK)).EnumerateArray().Single(g => g.GetProperty("id").GetGuid() == a);
        await Http.ExpectAsync(await op.PutAsJsonAsync($"/api/v1/admin/gateways/{a}", new
        {
            name = gw.GetProperty("name").GetString(), kind = "Evolution", baseUrl = gw.GetProperty("baseUrl").GetString(), capacity = 10, enabled = true, draining = true,
        }), HttpStatusCode.OK);
        var tenant = await app.CreateTenantAsync();

        var placed = new List<Guid>();
        for (var i = 0; i < 3; i++) placed.Add((await tenant.CreateSessionAsync($"N{i}")).GetProperty("gatewayId").GetGuid());
        Assert.All(placed, g => Assert.Equal(b, g));

        var (id, instance) = await tenant.ConnectedSessionAsync(second, "evolution", "Evolution", "Movida");
        var linked = await op.PostAsJsonAsync($"/api/v1/admin/sessions/{id}/move", new { gatewayId = a });
        Assert.Equal(HttpStatusCode.Conflict, linked.StatusCode);
        Assert.Contains("session_linked", await linked.Content.ReadAsStringAsync());

        await Http.ExpectAsync(await tenant.Owner.PostAsync($"/api/v1/sessions/{id}/logout", null), HttpStatusCode.OK);
        var moved = await Http.JsonAsync(await op.PostAsJsonAsync($"/api/v1/admin/sessions/{id}/move", new { gatewayId = a }), HttpStatusCode.OK);
        Assert.Equal(a, moved.GetProperty("gatewayId").GetGuid());
        var newInstance = moved.GetProperty("instanceName").GetString()!;
        Assert.NotEqual(instance, newInstance);
        // The old gateway no longer has the instance; the new one gets it at the next connect, and the scan links it there.
        Assert.DoesNotContain(instance, (await second.InstancesAsync()).ToString());
        await Http.ExpectAsync(await tenant.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.Accepted);
        await tenant.WaitForStateAsync(id, "AwaitingScan");
        await Http.ExpectAsync(await first.ScanAsync("evolution", newInstance, "5511977770000"), HttpStatusCode.OK);
        await tenant.WaitForStateAsync(id, "Connected");
        var audit = await Http.JsonAsync(await op.GetAsync($"/api/v1/admin/audit?tenantId={tenant.Id}"), HttpStatusCode.OK);
        Assert.Contains("session.moved", audit.ToString());
    }

    [Fact]
    public async Task AGatewayThatStopsAnsweringIsMarkedOnceAndItsNumbersSaySoUntilItAnswersAgain()
    {
        await using var app = new ZapHubApp().With("Sessions:SilenceThreshold", "00:00:00.001").With("Sessions:ReconcileInterval", "01:00:00")
            .With("Messages:HoldRecheck", "00:00:01");
        app.ServeOverKestrel();
        await using var emulator = await EmulatorHost.StartAsync();
        var gateway = await app.RegisterGatewayAsync("Evolution", emulator.BaseUrl("evolution"), EmulatorHost.EvolutionKey, capacity: 10);
        var tenant = await app.CreateTenantAsync();
        var numbers = new List<Guid>();
        for (var i = 0; i < 3; i++) numbers.Add((await tenant.ConnectedSessionAsync(emulator, "evolution", "Evolution", $"N{i}", $"551197777000{i}")).Id);
        var reconciler = app.Services.GetRequiredService<Reconciler>();
        var op = await app.OperatorAsync();
        async Task<JsonElement> Gateway() =>
            (await Http.JsonAsync(await op.GetAsync("/api/v1/admin/gateways"), HttpStatusCode.OK)).EnumerateArray().Single(g => g.GetProperty("id").GetGuid() == gateway);

        await reconciler.RunOnceAsync(CancellationToken.None);
        Assert.Equal(JsonValueKind.Null, (await Gateway()).GetProperty("unreachableSince").ValueKind);

        // The network drops every call from now on; the pass must notice with one call, not one per number.
        await Http.ExpectAsync(await emulator.FaultsAsync(new { resetNext = 100 }), HttpStatusCode.OK);
        await reconciler.RunOnceAsync(CancellationToken.None);
        var left = await Http.JsonAsync(await emulator.FaultsAsync(new { }), HttpStatusCode.OK);
        Assert.Equal(99, left.GetProperty("resetNext").GetInt32());
        var down = await Gateway();
        Assert.Equal(JsonValueKind.String, down.GetProperty("unreachableSince").ValueKind);
        Assert.NotNull(down.GetProperty("unreachableDetail").GetString());
        foreach (var id in numbers)
        {
            var s = await tenant.SessionAsync(id);
            Assert.Equal(JsonValueKind.String, s.GetProperty("gatewayUnreachableSince").ValueKind);
            Assert.Equal("gateway_failed", s.GetProperty("lastErrorCode").GetString());
            // ZapHub does not guess: the numbers keep the state they had.
            Assert.Equal("Connected", s.GetProperty("state").GetString());
        }
        var op2 = await PageAsync(op, $"/api/v1/admin/sessions?gatewayId={gateway}");
        Assert.All(op2.Items, r => Assert.False(r.GetProperty("gatewayReachable").GetBoolean()));
        // A message for a number on it waits without a call (the network would only drop it), and goes once it answers.
        var waiting = await tenant.SendAsync(new { to = "11988887777", text = "Lembrete", sessionId = numbers[0] });
        var held = await tenant.WaitForMessageAsync(waiting, "Held");
        Assert.Equal("gateway_unreachable", held.GetProperty("message").GetProperty("statusReasonCode").GetString());
        Assert.Equal(99, (await Http.JsonAsync(await emulator.FaultsAsync(new { }), HttpStatusCode.OK)).GetProperty("resetNext").GetInt32());

        await Http.ExpectAsync(await emulator.FaultsAsync(new { resetNext = 0 }), HttpStatusCode.OK);
        await reconciler.RunOnceAsync(CancellationToken.None);
        Assert.Equal(JsonValueKind.Null, (await Gateway()).GetProperty("unreachableSince").ValueKind);
        foreach (var id in numbers)
        {
            var s = await tenant.SessionAsync(id);
            Assert.Equal(JsonValueKind.Null, s.GetProperty("gatewayUnreachableSince").ValueKind);
            Assert.Equal(JsonValueKind.Null, s.GetProperty("lastError").ValueKind);
        }
        await tenant.WaitForMessageAsync(waiting, "Sent");
    }
}
