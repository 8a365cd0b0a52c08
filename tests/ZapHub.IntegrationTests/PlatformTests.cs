using System.Net;
using System.Text;
using ZapHub.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace ZapHub.IntegrationTests;

public class PlatformTests(ITestOutputHelper output)
{
    [Fact]
    public async Task HealthEndpointsReportLiveAndReady()
    {
        await using var app = new ZapHubApp();
        var client = app.Anonymous();
        Assert.Equal("Healthy", await client.GetStringAsync("/health/live"));
        Assert.Equal("Healthy", await client.GetStringAsync("/health/ready"));
    }

    [Fact]
    public async Task OpenApiDocumentDescribesTheApiAndTheReferenceIsBrowsable()
    {
        await using var app = new ZapHubApp();
        var client = app.Anonymous();
        var doc = await client.GetStringAsync("/openapi/v1.json");
        Assert.Contains("\"/api/v1/api-keys\"", doc);
        Assert.Contains("\"/api/v1/admin/tenants\"", doc);
        Assert.DoesNotContain("/account/login", doc);
        var reference = await client.GetAsync("/api/docs/");
        Assert.Equal(HttpStatusCode.OK, reference.StatusCode);
    }

    [Fact]
    public async Task MalformedJsonIs400ProblemDetails()
    {
        await using var app = new ZapHubApp();
        var t = await app.CreateTenantAsync();
        var response = await t.Owner.PostAsync("/api/v1/api-keys", new StringContent("{\"name\": \"x\", \"scopes\": [", Encoding.UTF8, "application/json"));
        var problem = await Http.JsonAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
    }

    [Fact]
    public async Task MissingRequiredFieldsAreNamedOneByOne()
    {
        await using var app = new ZapHubApp();
        var op = await app.OperatorAsync();
        var response = await op.PostAsync("/api/v1/admin/tenants", new StringContent("{\"ownerEmail\": \"not-an-email\"}", Encoding.UTF8, "application/json"));
        var problem = await Http.JsonAsync(response, HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty("Name", out _) || errors.TryGetProperty("name", out _), problem.ToString());
        Assert.True(errors.TryGetProperty("Slug", out _) || errors.TryGetProperty("slug", out _), problem.ToString());
        Assert.True(errors.TryGetProperty("OwnerEmail", out _) || errors.TryGetProperty("ownerEmail", out _), problem.ToString());
    }

    [Fact]
    public async Task NoRequestToAnyApiRouteProducesA500()
    {
        await using var app = new ZapHubApp();
        var t = await app.CreateTenantAsync();
        var (_, key) = await t.CreateApiKeyAsync("sessions:read", "sessions:control", "messages:send", "webhooks:manage", "events:read");
        var clients = new[] { app.Anonymous(), t.Owner, app.WithApiKey(key), await app.OperatorAsync() };
        string[] bodies = ["", "{", "null", "[]", "\"text\"", "{\"name\":123,\"scopes\":\"x\"}", "{\"role\":\"God\"}", new string('x', 70_000), "\u0000\u0001\u0002", "{\"email\":null,\"slug\":[1]}"];
        string[] ids = ["00000000-0000-0000-0000-000000000000", Guid.NewGuid().ToString(), "not-a-guid", "%2500", "..%2F..%2Fetc"];
        var count = 0;

        foreach (var route in Routes.Api(app))
            foreach (var id in ids)
                foreach (var body in route.Method is "GET" or "DELETE" ? [""] : bodies)
                    foreach (var client in clients)
                    {
                        var url = route.Fill(_ => id) + "?before=garbage&limit=-5&tenantId=zzz";
                        var request = new HttpRequestMessage(new HttpMethod(route.Method), url);
                        if (route.Method is not ("GET" or "DELETE"))
                            request.Content = new StringContent(body, Encoding.UTF8, count % 3 == 0 ? "text/plain" : "application/json");
                        // Headers only: the event stream answers 200 and then stays open; leaving it ends it.
                        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                        count++;
                        if ((int)response.StatusCode >= 500)
                            Assert.Fail($"{route.Method} {url} with body '{body[..Math.Min(body.Length, 40)]}' -> {(int)response.StatusCode}\n{await response.Content.ReadAsStringAsync()}");
                    }
        output.WriteLine($"{count} requests, none answered 5xx");
        Assert.True(count > 100);
        Assert.Equal("Healthy", await app.Anonymous().GetStringAsync("/health/ready"));
    }
}
