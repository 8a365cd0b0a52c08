using System.Net;
using System.Net.Http.Json;
using ZapHub.IntegrationTests.Infrastructure;

namespace ZapHub.IntegrationTests;

public class MemberAndTenantTests
{
    [Fact]
    public async Task OwnerAddsAMemberWhoCanSignInAndSeeTheTenant()
    {
        await using var app = new ZapHubApp();
        var t = await app.CreateTenantAsync();
        var (_, email, password) = await t.AddMemberAsync("Member");
        var member = await app.SignInAsync(email, password);
        var tenant = await Http.JsonAsync(await member.GetAsync("/api/v1/tenant"), HttpStatusCode.OK);
        Assert.Equal("Member", tenant.GetProperty("role").GetString());
        var members = await member.GetStringAsync("/api/v1/members");
        Assert.Contains(t.OwnerEmail, members);
    }

    [Fact]
    public async Task MemberCannotAddMembersOrChangeRoles()
    {
        await using var app = new ZapHubApp();
        var t = await app.CreateTenantAsync();
        var (memberId, email, password) = await t.AddMemberAsync("Admin");
        var admin = await app.SignInAsync(email, password);
        await Http.ExpectAsync(await admin.PostAsJsonAsync("/api/v1/members", new { email = "x@y.test", role = "Member" }), HttpStatusCode.Forbidden);
        await Http.ExpectAsync(await admin.PutAsJsonAsync($"/api/v1/members/{memberId}/role", new { role = "Owner" }), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task TheLastOwnerCannotBeRemovedOrDemoted()
    {
        await using var app = new ZapHubApp();
        var t = await app.CreateTenantAsync();
        var members = await Http.JsonAsync(await t.Owner.GetAsync("/api/v1/members"), HttpStatusCode.OK);
        var ownerId = members[0].GetProperty("id").GetGuid();

        var remove = await Http.JsonAsync(await t.Owner.DeleteAsync($"/api/v1/members/{ownerId}"), HttpStatusCode.Conflict);
        Assert.Equal("last_owner", remove.GetProperty("code").GetString());
        await Http.ExpectAsync(await t.Owner.PutAsJsonAsync($"/api/v1/members/{ownerId}/role", new { role = "Member" }), HttpStatusCode.Conflict);

        var (secondId, _, _) = await t.AddMemberAsync("Owner");
        await Http.ExpectAsync(await t.Owner.PutAsJsonAsync($"/api/v1/members/{ownerId}/role", new { role = "Admin" }), HttpStatusCode.NoContent);
        // Now an admin, the former owner may no longer manage members.
        await Http.ExpectAsync(await t.Owner.DeleteAsync($"/api/v1/members/{secondId}"), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task RemovedMemberLosesAccessAtOnce()
    {
        await using var app = new ZapHubApp();
        var t = await app.CreateTenantAsync();
        var (memberId, email, password) = await t.AddMemberAsync("Member");
        var member = await app.SignInAsync(email, password);
        await Http.ExpectAsync(await member.GetAsync("/api/v1/tenant"), HttpStatusCode.OK);

        await Http.ExpectAsync(await t.Owner.DeleteAsync($"/api/v1/members/{memberId}"), HttpStatusCode.NoContent);
        await Http.ExpectAsync(await member.GetAsync("/api/v1/tenant"), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task ADisabledTenantCanDoNothingUntilEnabledAgain()
    {
        await using var app = new ZapHubApp();
        var t = await app.CreateTenantAsync();
        var (_, key) = await t.CreateApiKeyAsync("sessions:read");
        var op = await app.OperatorAsync();

        var disabled = await Http.JsonAsync(await op.PostAsync($"/api/v1/admin/tenants/{t.Id}/disable", null), HttpStatusCode.OK);
        Assert.False(disabled.GetProperty("enabled").GetBoolean());
        await Http.ExpectAsync(await app.WithApiKey(key).GetAsync("/api/v1/tenant"), HttpStatusCode.Forbidden);
        await Http.ExpectAsync(await t.Owner.GetAsync("/api/v1/api-keys"), HttpStatusCode.Forbidden);
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync("/api/v1/api-keys", new { name = "x", scopes = new[] { "sessions:read" } }), HttpStatusCode.Forbidden);

        await Http.ExpectAsync(await op.PostAsync($"/api/v1/admin/tenants/{t.Id}/enable", null), HttpStatusCode.OK);
        await Http.ExpectAsync(await app.WithApiKey(key).GetAsync("/api/v1/tenant"), HttpStatusCode.OK);
    }

    [Fact]
    public async Task OperatorEditsATenantAndBadValuesAreFieldErrors()
    {
        await using var app = new ZapHubApp();
        var t = await app.CreateTenantAsync();
        var op = await app.OperatorAsync();

        var updated = await Http.JsonAsync(await op.PutAsJsonAsync($"/api/v1/admin/tenants/{t.Id}",
            new { name = "Clínica Sorriso", slug = t.Slug, timeZone = "America/Manaus", locale = "en", maxSessions = 3 }), HttpStatusCode.OK);
        Assert.Equal("America/Manaus", updated.GetProperty("timeZone").GetString());
        Assert.Equal(3, updated.GetProperty("maxSessions").GetInt32());

        var badZone = await Http.JsonAsync(await op.PutAsJsonAsync($"/api/v1/admin/tenants/{t.Id}",
            new { name = "Clínica", slug = t.Slug, timeZone = "Mars/Olympus" }), HttpStatusCode.BadRequest);
        Assert.True(badZone.GetProperty("errors").TryGetProperty("timeZone", out _));
        var badSlug = await Http.JsonAsync(await op.PostAsJsonAsync("/api/v1/admin/tenants",
            new { name = "X Y", slug = "Not A Slug!", ownerEmail = "o@x.test" }), HttpStatusCode.BadRequest);
        Assert.True(badSlug.GetProperty("errors").TryGetProperty("slug", out _));
        await Http.ExpectAsync(await op.PostAsJsonAsync("/api/v1/admin/tenants",
            new { name = "Dup", slug = t.Slug, ownerEmail = "o@x.test" }), HttpStatusCode.Conflict);
        await Http.ExpectAsync(await op.GetAsync($"/api/v1/admin/tenants/{Guid.NewGuid()}"), HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task TenantOwnersCannotUseTheOperatorConsole()
    {
        await using var app = new ZapHubApp();
        var t = await app.CreateTenantAsync();
        await Http.ExpectAsync(await t.Owner.GetAsync("/api/v1/admin/tenants"), HttpStatusCode.Forbidden);
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync("/api/v1/admin/tenants", new { name = "Mine", slug = "mine", ownerEmail = "a@b.test" }), HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task AuditLogRecordsWhoDidWhatAndOwnersSeeOnlyTheirTenant()
    {
        await using var app = new ZapHubApp();
        var a = await app.CreateTenantAsync();
        var b = await app.CreateTenantAsync();
        var (keyA, _) = await a.CreateApiKeyAsync("sessions:read");
        await Http.ExpectAsync(await a.Owner.DeleteAsync($"/api/v1/api-keys/{keyA}"), HttpStatusCode.NoContent);
        await b.CreateApiKeyAsync("messages:send");

        var auditA = await Http.JsonAsync(await a.Owner.GetAsync("/api/v1/audit"), HttpStatusCode.OK);
        var actions = auditA.EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Equal(["apikey.revoked", "apikey.created", "tenant.created"], actions);
        Assert.All(auditA.EnumerateArray(), e => Assert.Equal(a.Id, e.GetProperty("tenantId").GetGuid()));
        Assert.Equal(a.OwnerEmail, auditA[0].GetProperty("actorName").GetString());
        Assert.Equal(ZapHubApp.OperatorEmail, auditA[2].GetProperty("actorName").GetString());

        var all = await Http.JsonAsync(await (await app.OperatorAsync()).GetAsync("/api/v1/admin/audit"), HttpStatusCode.OK);
        var tenants = all.EnumerateArray().Select(e => e.GetProperty("tenantId").GetGuid()).Distinct().ToList();
        Assert.Contains(a.Id, tenants);
        Assert.Contains(b.Id, tenants);
    }
}
