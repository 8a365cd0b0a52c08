using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ZapHub.Features.Tenancy;
using ZapHub.IntegrationTests.Infrastructure;

namespace ZapHub.IntegrationTests;

/// <summary>The platform's backend, with a platform key and no cookie anywhere, runs its tenants and acts inside them.</summary>
public class PlatformKeyTests
{
    [Fact]
    public async Task APlatformKeyManagesTenantsAndActsInsideTheOneItNames()
    {
        await using var app = new ZapHubApp().With("Webhooks:AllowPrivateTargets", "true").CaptureLogs();
        await app.RegisterGatewayAsync("Evolution", "http://127.0.0.1:9", "unused");
        var key = await app.CreatePlatformKeyAsync();
        var platform = app.WithPlatformKey(key);

        var created = await Http.JsonAsync(await platform.PostAsJsonAsync("/api/v1/admin/tenants", new
        {
            name = "Barbearia do Zé", slug = "barbearia-ze", embedOrigins = new[] { "https://app.agenda.test" }, brandColor = "#AA3300",
        }), HttpStatusCode.Created);
        var tenantId = created.GetProperty("tenant").GetProperty("id").GetGuid();
        Assert.Equal(JsonValueKind.Null, created.GetProperty("ownerEmail").ValueKind);
        Assert.Equal(["https://app.agenda.test"], created.GetProperty("tenant").GetProperty("embedOrigins").EnumerateArray().Select(o => o.GetString()));
        Assert.Equal("#aa3300", created.GetProperty("tenant").GetProperty("brandColor").GetString());
        Assert.Contains((await Http.JsonAsync(await platform.GetAsync("/api/v1/admin/tenants"), HttpStatusCode.OK)).EnumerateArray(),
            t => t.GetProperty("id").GetGuid() == tenantId);
        await Http.JsonAsync(await platform.PutAsJsonAsync($"/api/v1/admin/tenants/{tenantId}", new { name = "Barbearia do Zé Centro", slug = "barbearia-ze", maxSessions = 3 }), HttpStatusCode.OK);
        var bad = await Http.JsonAsync(await platform.PutAsJsonAsync($"/api/v1/admin/tenants/{tenantId}",
            new { name = "Barbearia", slug = "barbearia-ze", embedOrigins = new[] { "http://app.agenda.test/path" } }), HttpStatusCode.BadRequest);
        Assert.Equal("tenant_embed_origin", bad.GetProperty("code").GetString());

        // Inside the tenant, by its slug or id: a number carrying the platform's own reference and metadata, a webhook, an API key.
        var inside = app.WithPlatformKey(key, "barbearia-ze");
        var number = await Http.JsonAsync(await inside.PostAsJsonAsync("/api/v1/sessions", new
        {
            displayName = "Recepção", reference = "cliente-42", metadata = new { plano = "ouro", unidade = 7 }, proxy = "socks5://zap:segredo-do-proxy@10.0.0.5:1080",
        }), HttpStatusCode.Created);
        var numberId = number.GetProperty("id").GetGuid();
        Assert.Equal("cliente-42", number.GetProperty("reference").GetString());
        Assert.Equal("ouro", number.GetProperty("metadata").GetProperty("plano").GetString());
        Assert.True(number.GetProperty("hasProxy").GetBoolean());
        Assert.DoesNotContain("segredo-do-proxy", number.GetRawText());
        var byId = app.WithPlatformKey(key, tenantId.ToString());
        var found = (await Http.JsonAsync(await byId.GetAsync("/api/v1/sessions?reference=cliente-42"), HttpStatusCode.OK)).EnumerateArray().ToList();
        Assert.Equal(numberId, Assert.Single(found).GetProperty("id").GetGuid());
        Assert.Empty((await Http.JsonAsync(await byId.GetAsync("/api/v1/sessions?reference=cliente-43"), HttpStatusCode.OK)).EnumerateArray());
        await Http.JsonAsync(await inside.PostAsJsonAsync("/api/v1/webhooks", new { url = "http://127.0.0.1:9/hooks" }), HttpStatusCode.Created);
        var tenantKey = await Http.JsonAsync(await platform.PostAsJsonAsync($"/api/v1/admin/tenants/{tenantId}/api-keys",
            new { name = "sistema da barbearia", scopes = new[] { ApiScopes.SessionsRead } }), HttpStatusCode.Created);
        var own = app.WithApiKey(tenantKey.GetProperty("key").GetString()!);

        Assert.Single((await Http.JsonAsync(await own.GetAsync("/api/v1/sessions"), HttpStatusCode.OK)).EnumerateArray());

        // Only a platform key may name a tenant; without naming one it has no tenant; it is no operator.
        var other = await app.CreateTenantAsync();
        // Made while naming another tenant in the header, a key is still the path's tenant's.
        var otherKey = await Http.JsonAsync(await inside.PostAsJsonAsync($"/api/v1/admin/tenants/{other.Id}/api-keys", new { name = "outro", scopes = new[] { ApiScopes.SessionsRead } }),
            HttpStatusCode.Created);
        Assert.Empty((await Http.JsonAsync(await app.WithApiKey(otherKey.GetProperty("key").GetString()!).GetAsync("/api/v1/sessions"), HttpStatusCode.OK)).EnumerateArray());
        own.DefaultRequestHeaders.Add(TenantAccess.TenantHeader, other.Slug);
        Assert.Equal("tenant_header_refused", (await Http.JsonAsync(await own.GetAsync("/api/v1/sessions"), HttpStatusCode.Forbidden)).GetProperty("code").GetString());
        var cookie = other.Owner;
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/sessions"))
        {
            request.Headers.Add(TenantAccess.TenantHeader, "barbearia-ze");
            Assert.Equal(HttpStatusCode.Forbidden, (await cookie.SendAsync(request)).StatusCode);
        }
        Assert.Equal("no_tenant", (await Http.JsonAsync(await platform.GetAsync("/api/v1/sessions"), HttpStatusCode.Forbidden)).GetProperty("code").GetString());
        Assert.Equal("no_tenant", (await Http.JsonAsync(await app.WithPlatformKey(key, "no-such-tenant").GetAsync("/api/v1/sessions"), HttpStatusCode.Forbidden))
            .GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, (await platform.GetAsync("/api/v1/admin/gateways")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await platform.GetAsync("/api/v1/admin/platform-keys")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await platform.GetAsync("/api/v1/admin/audit")).StatusCode);

        // A key without tenants:manage acts inside tenants but manages none.
        var narrow = await app.CreatePlatformKeyAsync(ApiScopes.SessionsRead);
        Assert.Equal(HttpStatusCode.Forbidden, (await app.WithPlatformKey(narrow).GetAsync("/api/v1/admin/tenants")).StatusCode);
        Assert.Single((await Http.JsonAsync(await app.WithPlatformKey(narrow, "barbearia-ze").GetAsync("/api/v1/sessions"), HttpStatusCode.OK)).EnumerateArray());
        Assert.Equal("missing_scope", (await Http.JsonAsync(await app.WithPlatformKey(narrow, "barbearia-ze").PostAsJsonAsync("/api/v1/sessions", new { displayName = "Caixa" }),
            HttpStatusCode.Forbidden)).GetProperty("code").GetString());

        // What it did is in the tenant's audit log under its name; revoked, it opens nothing.
        var audit = await Http.JsonAsync(await (await app.OperatorAsync()).GetAsync($"/api/v1/admin/audit?tenantId={tenantId}"), HttpStatusCode.OK);
        Assert.Contains(audit.EnumerateArray(), a => a.GetProperty("action").GetString() == "tenant.created" && a.GetProperty("actorName").GetString()!.StartsWith("platform-key:"));
        Assert.Contains(audit.EnumerateArray(), a => a.GetProperty("action").GetString() == "session.created" && a.GetProperty("actorName").GetString()!.StartsWith("platform-key:"));
        var operatorClient = await app.OperatorAsync();
        var keyId = (await Http.JsonAsync(await operatorClient.GetAsync("/api/v1/admin/platform-keys"), HttpStatusCode.OK)).EnumerateArray()
            .First(k => key.StartsWith(k.GetProperty("prefix").GetString()!)).GetProperty("id").GetGuid();
        await Http.ExpectAsync(await operatorClient.DeleteAsync($"/api/v1/admin/platform-keys/{keyId}"), HttpStatusCode.NoContent);
        Assert.Equal(HttpStatusCode.Unauthorized, (await inside.GetAsync("/api/v1/sessions")).StatusCode);

        Assert.DoesNotContain(app.Logs!.Lines, l => l.Contains(key) || l.Contains("segredo-do-proxy"));
    }
}
