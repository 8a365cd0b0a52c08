using System.Net;
using System.Net.Http.Json;
using ZapHub.Features.Tenancy;
using ZapHub.IntegrationTests.Infrastructure;

namespace ZapHub.IntegrationTests;

/// <summary>A connect link is a narrow capability: one number, one purpose, a short life, framed only where allowed, never logged.</summary>
public class ConnectLinkTests
{
    [Fact]
    public async Task ALinkIsValidatedFramedOnlyWhereAllowedAndItsTokenOpensNothingElse()
    {
        await using var app = new ZapHubApp().CaptureLogs();
        await app.RegisterGatewayAsync("Evolution", "http://127.0.0.1:9", "unused");
        var platformKey = await app.CreatePlatformKeyAsync();
        var t = await app.CreateTenantAsync();
        await Http.JsonAsync(await app.WithPlatformKey(platformKey).PutAsJsonAsync($"/api/v1/admin/tenants/{t.Id}",
            new { name = "Clínica Sorriso", slug = t.Slug, embedOrigins = new[] { "https://app.clinica.test" } }), HttpStatusCode.OK);
        var (_, key) = await t.CreateApiKeyAsync(ApiScopes.SessionsRead, ApiScopes.SessionsControl);
        var backend = app.WithApiKey(key);
        var number = (await t.CreateSessionAsync("Recepção")).GetProperty("id").GetGuid();
        var links = $"/api/v1/sessions/{number}/connect-links";

        foreach (var (body, code) in new (object, string)[]
        {
            (new { expiresInMinutes = 0 }, "link_lifetime"), (new { expiresInMinutes = 20_000 }, "link_lifetime"), (new { method = "sms" }, "link_method"),
            (new { locale = "fr" }, "link_locale"), (new { returnUrl = "https://evil.test/back" }, "link_return_url"), (new { returnUrl = "javascript:alert(1)" }, "link_return_url"),
        })
            Assert.Equal(code, (await Http.JsonAsync(await backend.PostAsJsonAsync(links, body), HttpStatusCode.BadRequest)).GetProperty("code").GetString());

        var link = await Http.JsonAsync(await backend.PostAsJsonAsync(links, new { returnUrl = "https://app.clinica.test/done", method = "pairing", locale = "en" }), HttpStatusCode.Created);
        var url = new Uri(link.GetProperty("url").GetString()!);
        var token = url.AbsolutePath["/connect/".Length..];
        Assert.StartsWith("zcl_", token);
        Assert.InRange(link.GetProperty("expiresAt").GetDateTime().ToUniversalTime() - DateTime.UtcNow, TimeSpan.FromMinutes(29), TimeSpan.FromMinutes(31));
        Assert.Equal(("pairing", "en", "active"), (link.GetProperty("method").GetString(), link.GetProperty("locale").GetString(), link.GetProperty("status").GetString()));

        // The page may be framed by the tenant's origins only; every other page of ZapHub's by nobody.
        var page = await app.Anonymous().GetAsync(url.PathAndQuery);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("frame-ancestors https://app.clinica.test", Assert.Single(page.Headers.GetValues("Content-Security-Policy")));
        Assert.Equal("no-referrer", Assert.Single(page.Headers.GetValues("Referrer-Policy")));
        Assert.False(page.Headers.Contains("X-Frame-Options"));
        foreach (var other in new[] { "/login", "/", "/api/v1/sessions" })
        {
            var response = await app.Anonymous().GetAsync(other);
            Assert.Equal("frame-ancestors 'none'", Assert.Single(response.Headers.GetValues("Content-Security-Policy")));
            Assert.Equal("DENY", Assert.Single(response.Headers.GetValues("X-Frame-Options")));
        }
        var unknown = await app.Anonymous().GetAsync("/connect/zcl_nothing");
        Assert.Equal("frame-ancestors 'none'", Assert.Single(unknown.Headers.GetValues("Content-Security-Policy")));

        // The token is no credential anywhere else.
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.WithApiKey(token).GetAsync("/api/v1/sessions")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.Anonymous().GetAsync($"/api/v1/sessions/{number}?token={token}")).StatusCode);

        // Listed without its address; revoked by its number only; never in a log line, not even the request's path.
        var listed = Assert.Single((await Http.JsonAsync(await backend.GetAsync(links), HttpStatusCode.OK)).EnumerateArray());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, listed.GetProperty("url").ValueKind);
        var linkId = link.GetProperty("id").GetGuid();
        var otherNumber = (await t.CreateSessionAsync("Caixa")).GetProperty("id").GetGuid();
        await Http.ExpectAsync(await backend.DeleteAsync($"/api/v1/sessions/{otherNumber}/connect-links/{linkId}"), HttpStatusCode.NotFound);
        await Http.ExpectAsync(await backend.DeleteAsync($"{links}/{linkId}"), HttpStatusCode.NoContent);
        Assert.Equal("revoked", Assert.Single((await Http.JsonAsync(await backend.GetAsync(links), HttpStatusCode.OK)).EnumerateArray()).GetProperty("status").GetString());
        var audit = await Http.JsonAsync(await t.Owner.GetAsync("/api/v1/audit"), HttpStatusCode.OK);
        Assert.Contains(audit.EnumerateArray(), a => a.GetProperty("action").GetString() == "connectlink.created");
        Assert.Contains(audit.EnumerateArray(), a => a.GetProperty("action").GetString() == "connectlink.revoked");
        Assert.DoesNotContain(app.Logs!.Lines, l => l.Contains(token) || l.Contains(platformKey) || l.Contains(key));
        Assert.Contains(app.Logs.Lines, l => l.Contains("/connect/zcl_***"));

        // The reference: the new routes are in the OpenAPI document.
        var openApi = await app.Anonymous().GetStringAsync("/openapi/v1.json");
        foreach (var route in new[] { "/api/v1/sessions/{sessionId}/connect-links", "/api/v1/admin/platform-keys", "/api/v1/admin/tenants/{tenantId}/api-keys", "/api/v1/sessions/{sessionId}/health" })
            Assert.Contains($"\"{route}\"", openApi);
    }
}
