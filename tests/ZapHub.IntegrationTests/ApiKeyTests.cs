using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ZapHub.IntegrationTests.Infrastructure;

namespace ZapHub.IntegrationTests;

public class ApiKeyTests
{
    [Fact]
    public async Task KeyIsShownOnceAndStoredOnlyAsItsPrefix()
    {
        await using var app = new ZapHubApp();
        var t = await app.CreateTenantAsync();
        var (id, key) = await t.CreateApiKeyAsync("sessions:read");

        Assert.StartsWith("zh_", key);
        var list = await t.Owner.GetStringAsync("/api/v1/api-keys");
        Assert.Contains(id.ToString(), list);
        Assert.Contains(key[..13], list);
        Assert.DoesNotContain(key, list);
    }

    [Fact]
    public async Task KeyWithTheScopeReadsItsTenantAndRecordsLastUse()
    {
        await using var app = new ZapHubApp();
        var t = await app.CreateTenantAsync();
        var (_, key) = await t.CreateApiKeyAsync("sessions:read");

        var tenant = await Http.JsonAsync(await app.WithApiKey(key).GetAsync("/api/v1/tenant"), HttpStatusCode.OK);
        Assert.Equal(t.Slug, tenant.GetProperty("slug").GetString());

        var keys = await Http.JsonAsync(await t.Owner.GetAsync("/api/v1/api-keys"), HttpStatusCode.OK);
        Assert.NotEqual(JsonValueKind.Null, keys[0].GetProperty("lastUsedAt").ValueKind);
    }

    [Fact]
    public async Task KeyWithoutTheScopeGets403()
    {
        await using var app = new ZapHubApp();
        var t = await app.CreateTenantAsync();
        var (_, key) = await t.CreateApiKeyAsync("messages:send");

        var response = await app.WithApiKey(key).GetAsync("/api/v1/tenant");
        var problem = await Http.JsonAsync(response, HttpStatusCode.Forbidden);
        Assert.Equal("missing_scope", problem.GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("zh_unknownkey_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [InlineData("not-a-zaphub-key")]
    [InlineData("")]
    public async Task UnknownOrMalformedKeyGets401ProblemDetails(string key)
    {
        await using var app = new ZapHubApp();
        var client = app.Anonymous();
        client.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer " + key);
        var response = await client.GetAsync("/api/v1/tenant");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task RevokedKeyGets401()
    {
        await using var app = new ZapHubApp();
        var t = await app.CreateTenantAsync();
        var (id, key) = await t.CreateApiKeyAsync("sessions:read");
        await Http.ExpectAsync(await app.WithApiKey(key).GetAsync("/api/v1/tenant"), HttpStatusCode.OK);

        await Http.ExpectAsync(await t.Owner.DeleteAsync($"/api/v1/api-keys/{id}"), HttpStatusCode.NoContent);
        await Http.ExpectAsync(await app.WithApiKey(key).GetAsync("/api/v1/tenant"), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task ATamperedSecretWithARealPrefixGets401()
    {
        await using var app = new ZapHubApp();
        var t = await app.CreateTenantAsync();
        var (_, key) = await t.CreateApiKeyAsync("sessions:read");
        var tampered = key[..^4] + (key.EndsWith("AAAA") ? "BBBB" : "AAAA");
        await Http.ExpectAsync(await app.WithApiKey(tampered).GetAsync("/api/v1/tenant"), HttpStatusCode.Unauthorized);
    }

    [Fact]
    public async Task KeysCannotManageKeysMembersOrTheOperatorConsole()
    {
        await using var app = new ZapHubApp();
        var t = await app.CreateTenantAsync();
        var (_, key) = await t.CreateApiKeyAsync("sessions:read", "sessions:control", "messages:send", "webhooks:manage");
        var client = app.WithApiKey(key);

        var create = await Http.JsonAsync(await client.PostAsJsonAsync("/api/v1/api-keys", new { name = "escalate", scopes = new[] { "sessions:read" } }), HttpStatusCode.Forbidden);
        Assert.Equal("dashboard_only", create.GetProperty("code").GetString());
        await Http.ExpectAsync(await client.GetAsync("/api/v1/members"), HttpStatusCode.Forbidden);
        await Http.ExpectAsync(await client.GetAsync("/api/v1/admin/tenants"), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task UnknownScopeIsAFieldError()
    {
        await using var app = new ZapHubApp();
        var t = await app.CreateTenantAsync();
        var problem = await Http.JsonAsync(await t.Owner.PostAsJsonAsync("/api/v1/api-keys", new { name = "x", scopes = new[] { "everything" } }), HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("scopes", out _));
    }

    [Fact]
    public async Task MembersCannotCreateKeys()
    {
        await using var app = new ZapHubApp();
        var t = await app.CreateTenantAsync();
        var (_, email, password) = await t.AddMemberAsync("Member");
        var member = await app.SignInAsync(email, password);
        var problem = await Http.JsonAsync(await member.PostAsJsonAsync("/api/v1/api-keys", new { name = "x", scopes = new[] { "sessions:read" } }), HttpStatusCode.Forbidden);
        Assert.Equal("role_required", problem.GetProperty("code").GetString());
    }

    [Fact]
    public async Task ApiIsRateLimitedPerCaller()
    {
        await using var app = new ZapHubApp().With("RateLimits:ApiPerSecond", "5");
        var t = await app.CreateTenantAsync();
        var (_, key) = await t.CreateApiKeyAsync("sessions:read");
        var client = app.WithApiKey(key);
        var statuses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => client.GetAsync("/api/v1/tenant")));
        var limited = statuses.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.NotEmpty(limited);
        Assert.True(limited[0].Headers.Contains("Retry-After") || limited[0].Content.Headers.ContentType?.MediaType == "application/problem+json");
    }
}
