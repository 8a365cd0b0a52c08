using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ZapHub.Features.Events;
using ZapHub.Features.Messages;
using ZapHub.Features.Sessions;
using ZapHub.Features.Tenancy;
using ZapHub.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace ZapHub.IntegrationTests;

/// <summary>
/// Tenant A's credentials against tenant B's resources, on every tenant route the app exposes. Routes are read
/// from the app, so a route added later is covered without editing this test — and one whose parameter or
/// body this test cannot fill fails it, asking for a sample.
/// </summary>
public class CrossTenantIsolationTests(ITestOutputHelper output)
{
    /// <summary>A valid body per request type, so a leak is not hidden behind a 400.</summary>
    private static readonly Dictionary<Type, object> SampleBodies = new()
    {
        [typeof(CreateApiKeyRequest)] = new { name = "probe", scopes = new[] { "sessions:read" } },
        [typeof(AddMemberRequest)] = new { email = "probe@probe.test", role = "Member" },
        [typeof(ChangeRoleRequest)] = new { role = "Owner" },
        [typeof(CreateSessionRequest)] = new { displayName = "probe" },
        [typeof(ConnectRequest)] = new { mode = "qr" },
        [typeof(UpdateSessionRequest)] = new { displayName = "probe", dailyLimit = 5 },
        [typeof(TestMessageRequest)] = new { to = "(11) 99999-0001", text = "probe" },
        [typeof(SaveTemplateRequest)] = new { name = "probe", body = "Olá {{nome}}" },
        [typeof(SaveWebhookRequest)] = new { url = "http://127.0.0.1:9/probe" },
        [typeof(ReplayRequest)] = new { since = DateTime.UtcNow.AddHours(-1) },
        [typeof(ZapHub.Features.ConnectLinks.CreateConnectLinkRequest)] = new { expiresInMinutes = 10 },
    };

    [Fact]
    public async Task EveryTenantRouteAnswers404ForAnotherTenantsResourceAndChangesNothing()
    {
        await using var app = new ZapHubApp().With("Webhooks:AllowPrivateTargets", "true");
        var a = await app.CreateTenantAsync();
        var b = await app.CreateTenantAsync();
        var (_, keyA) = await a.CreateApiKeyAsync([.. ApiScopes.All]);
        // An endpoint nobody listens on, with one test delivery in its log.
        var (webhookB, _) = await b.CreateWebhookAsync("http://127.0.0.1:9/hooks/b", "webhook.test");
        await Http.ExpectAsync(await b.Owner.PostAsync($"/api/v1/webhooks/{webhookB}/test", null), HttpStatusCode.Accepted);
        var deliveryB = (await Eventually.WaitAsync(() => b.DeliveriesAsync(webhookB), d => d.GetArrayLength() == 1, "B's test delivery"))[0].GetProperty("id").GetInt64();
        // Nothing below may reach a gateway: the lookup must fail first. An unreachable address proves it.
        await app.RegisterGatewayAsync("Evolution", "http://127.0.0.1:9", "unused");
        var resourcesOfB = new Dictionary<string, string>
        {
            ["apiKeyId"] = (await b.CreateApiKeyAsync(ApiScopes.SessionsRead)).Id.ToString(),
            ["memberId"] = (await b.AddMemberAsync("Member")).MemberId.ToString(),
            ["sessionId"] = (await b.CreateSessionAsync("Recepção B")).GetProperty("id").GetString()!,
            // Scheduled far ahead: it stays as it is while the test runs.
            ["messageId"] = (await b.SendAsync(new { to = "11988887777", text = "B", sendAt = DateTimeOffset.UtcNow.AddDays(30) })).ToString(),
            ["contactId"] = (await Http.JsonAsync(await b.Owner.PostAsJsonAsync("/api/v1/contacts", new { phone = "11977776666", name = "Cliente B" }), HttpStatusCode.Created)).GetProperty("id").GetString()!,
            ["templateId"] = (await Http.JsonAsync(await b.Owner.PostAsJsonAsync("/api/v1/templates", new { name = "modelo-b", body = "Olá {{nome}}" }), HttpStatusCode.Created)).GetProperty("id").GetString()!,
            ["webhookId"] = webhookB.ToString(),
            ["deliveryId"] = deliveryB.ToString(),
        };
        resourcesOfB["linkId"] = (await Http.JsonAsync(await b.Owner.PostAsJsonAsync($"/api/v1/sessions/{resourcesOfB["sessionId"]}/connect-links", new { }), HttpStatusCode.Created))
            .GetProperty("id").GetString()!;
        // The platform's backend acting for A, and A's own key trying to name B.
        var platformKey = await app.CreatePlatformKeyAsync();
        var keyNamingB = app.WithApiKey(keyA);
        keyNamingB.DefaultRequestHeaders.Add(TenantAccess.TenantHeader, b.Slug);

        var routes = Routes.Api(app).Where(r => r.Tenant is not null && r.Parameters.Count > 0).ToList();
        Assert.NotEmpty(routes);
        // Events are listed once the relay has numbered them, a moment after their commit (longer on a loaded machine): the
        // walk starts from a settled view, with no event left to number.
        await Eventually.WaitAsync(() => app.Database.ScalarAsync("SELECT COUNT(*) FROM \"Events\" WHERE \"Sequence\" IS NULL"), n => n == 0, "every event to be numbered");
        var before = await Eventually.WaitAsync(async () => (await SnapshotAsync(b), await SnapshotAsync(b)), s => s.Item1 == s.Item2, "tenant B's view to settle");

        var credentials = new (string Name, HttpClient Client)[]
        {
            ("cookie", a.Owner), ("api key", app.WithApiKey(keyA)), ("platform key", app.WithPlatformKey(platformKey, a.Slug)), ("key naming B", keyNamingB),
        };
        foreach (var route in routes)
        {
            var missing = route.Parameters.FirstOrDefault(p => !resourcesOfB.ContainsKey(p));
            Assert.True(missing is null, $"{route}: no resource of tenant B for parameter '{missing}'. Add one to this test.");
            var url = route.Fill(p => resourcesOfB[p]);
            foreach (var (name, client) in credentials)
            {
                var response = await client.SendAsync(Request(route, url));
                var body = await response.Content.ReadAsStringAsync();
                output.WriteLine($"{name,-8} {route.Method} {url} -> {(int)response.StatusCode}");
                // A key on a route closed to keys is refused before any lookup, and so is a tenant's key naming a tenant: that reveals nothing.
                var expected = name == "key naming B" || (name.EndsWith("key") && route.Tenant!.Scope is null) ? HttpStatusCode.Forbidden : HttpStatusCode.NotFound;
                Assert.True(response.StatusCode == expected, $"{name} {route} on tenant B's resource: expected {(int)expected}, got {(int)response.StatusCode}\n{body}");
                // A delivery's small numeric id would match any digit; the guid ids are what a leak would show.
                foreach (var id in resourcesOfB.Values.Where(v => v.Length >= 32)) Assert.DoesNotContain(id, body);
            }
        }

        Assert.Equal(before.Item1, await SnapshotAsync(b));
    }

    [Fact]
    public async Task ListRoutesNeverShowAnotherTenantsRows()
    {
        await using var app = new ZapHubApp();
        var a = await app.CreateTenantAsync();
        var b = await app.CreateTenantAsync();
        var (_, keyA) = await a.CreateApiKeyAsync([.. ApiScopes.All]);
        var (keyB, _) = await b.CreateApiKeyAsync(ApiScopes.SessionsRead);
        var platformKey = await app.CreatePlatformKeyAsync();
        var memberB = await b.AddMemberAsync();
        await app.RegisterGatewayAsync("Evolution", "http://127.0.0.1:9", "unused");
        var sessionB = (await b.CreateSessionAsync("Recepção B")).GetProperty("id").GetString()!;
        var messageB = (await b.SendAsync(new { to = "11988887777", text = "texto de B", sendAt = DateTimeOffset.UtcNow.AddDays(30) })).ToString();
        await Http.ExpectAsync(await b.Owner.PostAsJsonAsync("/api/v1/contacts", new { phone = "11977776666", name = "Cliente B" }), HttpStatusCode.Created);
        await Http.ExpectAsync(await b.Owner.PostAsJsonAsync("/api/v1/templates", new { name = "modelo-b", body = "Olá {{nome}}" }), HttpStatusCode.Created);
        var secretsOfB = new[] { b.Id.ToString(), keyB.ToString(), memberB.MemberId.ToString(), b.Slug, b.OwnerEmail, sessionB, "Recepção B", messageB, "texto de B",
            "+5511977776666", "Cliente B", "modelo-b" };

        foreach (var route in Routes.Api(app).Where(r => r.Tenant is not null && r.Parameters.Count == 0 && r.Method == "GET" && !IsStream(r)))
        {
            foreach (var client in new[] { a.Owner, app.WithApiKey(keyA), app.WithPlatformKey(platformKey, a.Slug) })
            {
                var body = await (await client.GetAsync("/" + route.Pattern)).Content.ReadAsStringAsync();
                foreach (var secret in secretsOfB)
                    Assert.False(body.Contains(secret), $"{route} showed tenant B's '{secret}' to tenant A:\n{body}");
            }
        }
    }

    /// <summary>The event stream never ends; EventTests checks it keeps tenants apart.</summary>
    private static bool IsStream(ApiRoute route) => route.Pattern.EndsWith("/stream", StringComparison.Ordinal);

    private static HttpRequestMessage Request(ApiRoute route, string url)
    {
        var request = new HttpRequestMessage(new HttpMethod(route.Method), url);
        if (route.BodyType is { } type)
        {
            Assert.True(SampleBodies.TryGetValue(type, out var sample), $"{route}: no sample body for {type.Name}. Add one to this test.");
            request.Content = new StringContent(JsonSerializer.Serialize(sample), Encoding.UTF8, "application/json");
        }
        return request;
    }

    /// <summary>Everything tenant B can see of itself, to prove tenant A's attempts changed nothing.</summary>
    private static async Task<string> SnapshotAsync(TestTenant b)
    {
        var parts = new List<string>();
        foreach (var route in Routes.Api(b.App).Where(r => r.Tenant is not null && r.Parameters.Count == 0 && r.Method == "GET" && !IsStream(r)).OrderBy(r => r.Pattern))
            parts.Add(route + " " + await b.Owner.GetStringAsync("/" + route.Pattern));
        return string.Join('\n', parts);
    }
}
