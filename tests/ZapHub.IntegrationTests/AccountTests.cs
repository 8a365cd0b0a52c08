using System.Net;
using System.Net.Http.Json;
using ZapHub.IntegrationTests.Infrastructure;

namespace ZapHub.IntegrationTests;

public class AccountTests
{
    [Fact]
    public async Task OperatorCreatesTenantAndItsOwnerSignsInWithTheOneTimePassword()
    {
        await using var app = new ZapHubApp();
        var op = await app.OperatorAsync();

        var created = await Http.JsonAsync(await op.PostAsJsonAsync("/api/v1/admin/tenants",
            new { name = "Barbearia do Zé", slug = "barbearia-ze", ownerEmail = "ze@barbearia.test" }), HttpStatusCode.Created);
        Assert.Equal("America/Sao_Paulo", created.GetProperty("tenant").GetProperty("timeZone").GetString());
        Assert.Equal("pt-BR", created.GetProperty("tenant").GetProperty("locale").GetString());
        var password = created.GetProperty("ownerOneTimePassword").GetString()!;

        var client = app.Anonymous();
        var login = await ZapHubApp.PostLoginAsync(client, "ze@barbearia.test", password);
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        Assert.Equal("/account/password", login.Headers.Location?.ToString());

        // Until the one-time password is replaced it opens nothing but the form that replaces it.
        foreach (var api in new[] { "/api/v1/tenant", "/api/v1/sessions", "/api/v1/events/stream", "/api/v1/me" })
        {
            var refused = await Http.JsonAsync(await client.GetAsync(api), HttpStatusCode.Forbidden);
            Assert.Equal("password_change_required", refused.GetProperty("code").GetString());
        }
        var keyAttempt = await client.PostAsJsonAsync("/api/v1/api-keys", new { name = "x", scopes = new[] { "sessions:read" } });
        Assert.Equal(HttpStatusCode.Forbidden, keyAttempt.StatusCode);
        foreach (var pageUrl in new[] { "/", "/whatsapp", "/api-keys" })
            Assert.Equal("/account/password", (await client.GetAsync(pageUrl)).Headers.Location?.ToString());
        Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsync("/_blazor/negotiate?negotiateVersion=1", null)).StatusCode);
        await ZapHubApp.ReplaceOneTimePasswordAsync(client, password, "Senha-Escolhida-2026");

        var tenant = await Http.JsonAsync(await client.GetAsync("/api/v1/tenant"), HttpStatusCode.OK);
        Assert.Equal("barbearia-ze", tenant.GetProperty("slug").GetString());
        Assert.Equal("Owner", tenant.GetProperty("role").GetString());

        // The one-time password is never shown again: listing tenants does not carry it.
        var list = await op.GetStringAsync("/api/v1/admin/tenants");
        Assert.DoesNotContain(password, list);
    }

    [Fact]
    public async Task OwnerChangesTheOneTimePasswordAndTheOldOneStopsWorking()
    {
        await using var app = new ZapHubApp();
        var t = await app.CreateTenantAsync(keepOneTimePassword: true);
        var token = await ZapHubApp.AntiforgeryTokenAsync(t.Owner, "/account/password");
        var change = await t.Owner.PostAsync("/account/password", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["CurrentPassword"] = t.OwnerPassword,
            ["NewPassword"] = "Nova-Senha-2026",
            ["ConfirmPassword"] = "Nova-Senha-2026",
        }));
        Assert.Equal("/", change.Headers.Location?.ToString());

        var old = await ZapHubApp.PostLoginAsync(app.Anonymous(), t.OwnerEmail, t.OwnerPassword);
        Assert.Equal("/login?error=invalid", old.Headers.Location?.ToString());
        var fresh = await ZapHubApp.PostLoginAsync(app.Anonymous(), t.OwnerEmail, "Nova-Senha-2026");
        Assert.Equal("/", fresh.Headers.Location?.ToString());
    }

    [Fact]
    public async Task RepeatedWrongPasswordsLockTheAccountEvenForTheRightPassword()
    {
        await using var app = new ZapHubApp().With("Accounts:Lockout:MaxFailedAttempts", "3");
        var t = await app.CreateTenantAsync();
        var client = app.Anonymous();
        for (var i = 0; i < 2; i++)
            Assert.Equal("/login?error=invalid", (await ZapHubApp.PostLoginAsync(client, t.OwnerEmail, "wrong-password")).Headers.Location?.ToString());
        Assert.Equal("/login?error=locked", (await ZapHubApp.PostLoginAsync(client, t.OwnerEmail, "wrong-password")).Headers.Location?.ToString());

        var right = await ZapHubApp.PostLoginAsync(client, t.OwnerEmail, t.OwnerPassword);
        Assert.Equal("/login?error=locked", right.Headers.Location?.ToString());

        var audit = await (await app.OperatorAsync()).GetStringAsync("/api/v1/admin/audit");
        Assert.Contains("user.locked_out", audit);
    }

    [Fact]
    public async Task LoginWithoutAntiforgeryTokenIsRejected()
    {
        await using var app = new ZapHubApp();
        var response = await app.Anonymous().PostAsync("/account/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Email"] = ZapHubApp.OperatorEmail,
            ["Password"] = ZapHubApp.OperatorPassword,
        }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var cookies = response.Headers.TryGetValues("Set-Cookie", out var values) ? values : [];
        Assert.DoesNotContain(cookies, c => c.StartsWith(".zaphub.auth"));
    }

    [Fact]
    public async Task SignOutNeedsTheFormsTokenSoAnotherSiteCannotSignSomeoneOut()
    {
        await using var app = new ZapHubApp();
        var op = await app.OperatorAsync();
        var forged = await op.PostAsync("/account/logout", new FormUrlEncodedContent(new Dictionary<string, string>()));
        Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        await Http.JsonAsync(await op.GetAsync("/api/v1/me"), HttpStatusCode.OK);

        var token = await ZapHubApp.AntiforgeryTokenAsync(op, "/account/password");
        var real = await op.PostAsync("/account/logout", new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token }));
        Assert.Equal("/login", real.Headers.Location?.ToString());
        Assert.Equal(HttpStatusCode.Unauthorized, (await op.GetAsync("/api/v1/me")).StatusCode);
    }

    [Fact]
    public async Task ACookieCarriedByAnotherSitesRequestChangesNothingButApiKeysAreNotChecked()
    {
        await using var app = new ZapHubApp();
        var t = await app.CreateTenantAsync();
        var (_, key) = await t.CreateApiKeyAsync("sessions:read", "sessions:control");

        async Task<HttpResponseMessage> CreateKeyAsync(HttpClient client, string header, string value)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/api-keys") { Content = JsonContent.Create(new { name = "csrf", scopes = new[] { "sessions:read" } }) };
            request.Headers.Add(header, value);
            return await client.SendAsync(request);
        }
        foreach (var (header, value) in new[] { ("Origin", "https://evil.example"), ("Origin", "null"), ("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Site", "same-site") })
        {
            var refused = await Http.JsonAsync(await CreateKeyAsync(t.Owner, header, value), HttpStatusCode.Forbidden);
            Assert.Equal("cross_origin_request", refused.GetProperty("code").GetString());
        }
        var keys = await Http.JsonAsync(await t.Owner.GetAsync("/api/v1/api-keys"), HttpStatusCode.OK);
        Assert.DoesNotContain(keys.EnumerateArray(), k => k.GetProperty("name").GetString() == "csrf");

        // ZapHub's own pages, and systems with a key, go through.
        await Http.ExpectAsync(await CreateKeyAsync(t.Owner, "Origin", t.Owner.BaseAddress!.GetLeftPart(UriPartial.Authority)), HttpStatusCode.Created);
        await Http.ExpectAsync(await CreateKeyAsync(t.Owner, "Sec-Fetch-Site", "same-origin"), HttpStatusCode.Created);
        using var withKey = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/sessions/{Guid.NewGuid()}/connect") { Content = JsonContent.Create(new { }) };
        withKey.Headers.Add("Origin", "https://platform.example");
        await Http.ExpectAsync(await app.WithApiKey(key).SendAsync(withKey), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task LoginIsRateLimitedPerAddress()
    {
        await using var app = new ZapHubApp().With("RateLimits:LoginPerMinute", "3");
        var client = app.Anonymous();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
            statuses.Add((await ZapHubApp.PostLoginAsync(client, "nobody@test.zaphub", "whatever-123")).StatusCode);
        Assert.Equal([HttpStatusCode.Redirect, HttpStatusCode.Redirect, HttpStatusCode.Redirect, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
    }

    [Fact]
    public async Task ReturnUrlAfterLoginStaysOnThisSite()
    {
        await using var app = new ZapHubApp();
        var client = app.Anonymous();
        var token = await ZapHubApp.AntiforgeryTokenAsync(client, "/login");
        var response = await client.PostAsync("/account/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["Email"] = ZapHubApp.OperatorEmail,
            ["Password"] = ZapHubApp.OperatorPassword,
            ["ReturnUrl"] = "//evil.example/phish",
        }));
        Assert.Equal("/", response.Headers.Location?.ToString());
    }

    [Fact]
    public async Task DashboardPagesRedirectAnonymousVisitorsToLogin()
    {
        await using var app = new ZapHubApp();
        var response = await app.Anonymous().GetAsync("/api-keys");
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.StartsWith("/login", response.Headers.Location!.PathAndQuery);
    }

    [Fact]
    public async Task UserInTwoTenantsSwitchesBetweenThem()
    {
        await using var app = new ZapHubApp();
        var a = await app.CreateTenantAsync();
        var b = await app.CreateTenantAsync();
        await Http.ExpectAsync(await b.Owner.PostAsJsonAsync("/api/v1/members", new { email = a.OwnerEmail, role = "Admin" }), HttpStatusCode.Created);

        var client = await app.SignInAsync(a.OwnerEmail, a.OwnerPassword);
        var me = await Http.JsonAsync(await client.GetAsync("/api/v1/me"), HttpStatusCode.OK);
        Assert.Equal(2, me.GetProperty("tenants").GetArrayLength());
        Assert.Equal(a.Slug, (await Http.JsonAsync(await client.GetAsync("/api/v1/tenant"), HttpStatusCode.OK)).GetProperty("slug").GetString());

        var token = await ZapHubApp.AntiforgeryTokenAsync(client, "/login");
        await client.PostAsync("/account/tenant", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["TenantId"] = b.Id.ToString(),
        }));
        var now = await Http.JsonAsync(await client.GetAsync("/api/v1/tenant"), HttpStatusCode.OK);
        Assert.Equal(b.Slug, now.GetProperty("slug").GetString());
        Assert.Equal("Admin", now.GetProperty("role").GetString());
    }

    [Fact]
    public async Task SwitchingToATenantYouDoNotBelongToChangesNothing()
    {
        await using var app = new ZapHubApp();
        var a = await app.CreateTenantAsync();
        var b = await app.CreateTenantAsync();
        var token = await ZapHubApp.AntiforgeryTokenAsync(a.Owner, "/login");
        await a.Owner.PostAsync("/account/tenant", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["TenantId"] = b.Id.ToString(),
        }));
        var now = await Http.JsonAsync(await a.Owner.GetAsync("/api/v1/tenant"), HttpStatusCode.OK);
        Assert.Equal(a.Slug, now.GetProperty("slug").GetString());
    }
}
