using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ZapHub.IntegrationTests.Infrastructure;

/// <summary>
/// ZapHub in-process on a throw-away database, driven only through HTTP. Intent helpers (sign in, create a
/// tenant, create a key) go through the same routes a person or a tenant's system would use.
/// </summary>
public sealed partial class ZapHubApp : WebApplicationFactory<Program>
{
    public const string OperatorEmail = "operator@test.zaphub";
    public const string OperatorPassword = "Operator-Pass-123";
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly TestDatabase database;
    private readonly bool ownsDatabase;

    /// <summary>The app's throw-away database, for what only the stored rows show (what is encrypted, what is gone).</summary>
    public TestDatabase Database => database;

    /// <summary>A new app on its own throw-away database, or a second node on another app's database.</summary>
    public ZapHubApp(ZapHubApp? shareDatabaseWith = null)
    {
        database = shareDatabaseWith?.database ?? TestDatabase.Create();
        ownsDatabase = shareDatabaseWith is null;
    }

    /// <summary>An app on a database the test made (and disposes), say on a PostgreSQL server of its own.</summary>
    public ZapHubApp(TestDatabase database) => this.database = database;
    private readonly Dictionary<string, string?> settings = new()
    {
        ["RateLimits:LoginPerMinute"] = "10000",
        ["RateLimits:ApiPerSecond"] = "100000",
    };

    /// <summary>Serves the app on a real loopback port (for browsers); call before the first request.</summary>
    public Uri ServeOverKestrel()
    {
        UseKestrel(0);
        StartServer();
        overKestrel = true;
        return ClientOptions.BaseAddress;
    }

    private TimeProvider? clock;

    /// <summary>Runs the app on a clock the test moves (scheduling, daily limits, retries), instead of waiting.</summary>
    public ZapHubApp UseClock(TimeProvider testClock)
    {
        clock = testClock;
        return this;
    }

    public ZapHubApp With(string key, string? value)
    {
        settings[key] = value;
        return this;
    }

    private readonly List<Action<IServiceCollection>> serviceChanges = [];

    /// <summary>Set by <see cref="CaptureLogs"/>: every line the app logs, at Debug and below too.</summary>
    public LogCapture? Logs { get; private set; }

    public ZapHubApp CaptureLogs()
    {
        Logs = new LogCapture();
        return this;
    }

    /// <summary>Replaces a service that would reach the outside world (the DNS resolver, say).</summary>
    public ZapHubApp WithServices(Action<IServiceCollection> change)
    {
        serviceChanges.Add(change);
        return this;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        // Outside Development the framework serves the dashboard's script from published output only.
        builder.UseStaticWebAssets();
        builder.UseSetting("Storage:Provider", database.Provider);
        builder.UseSetting("Storage:DataDirectory", database.DataDirectory);
        if (database.ConnectionString is not null) builder.UseSetting("Storage:ConnectionString", database.ConnectionString);
        builder.UseSetting("Bootstrap:OperatorEmail", OperatorEmail);
        builder.UseSetting("Bootstrap:OperatorPassword", OperatorPassword);
        builder.UseSetting("Demo:Enabled", "false");
        builder.UseSetting("DataProtection:Certificate", TestDatabase.KeyCertificate);
        foreach (var (key, value) in settings) builder.UseSetting(key, value);
        if (clock is { } c) builder.ConfigureServices(services => services.AddSingleton(c));
        if (Logs is { } logs)
            builder.ConfigureLogging(l => l.AddProvider(logs).AddFilter<LogCapture>((string?)null, LogLevel.Trace).SetMinimumLevel(LogLevel.Trace));
        foreach (var change in serviceChanges) builder.ConfigureServices(change);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (ownsDatabase) await database.DisposeAsync();
    }

    private bool overKestrel;

    public HttpClient Anonymous() => overKestrel
        // Over real sockets the factory's client options are not applied; build the same client by hand.
        ? new HttpClient(Responses is { } record
            ? record.Wrap(new SocketsHttpHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() })
            : new SocketsHttpHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() }) { BaseAddress = ClientOptions.BaseAddress }
        : CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false });

    /// <summary>Set by <see cref="RecordResponses"/>: every response any client of this app received (over Kestrel).</summary>
    public ResponseRecorder? Responses { get; private set; }

    public ZapHubApp RecordResponses()
    {
        Responses = new ResponseRecorder();
        return this;
    }

    /// <summary>An operator creates a platform key in the console's API; returns the key (shown once).</summary>
    public async Task<string> CreatePlatformKeyAsync(params string[] scopes)
    {
        var operatorClient = await OperatorAsync();
        var created = await Http.JsonAsync(await operatorClient.PostAsJsonAsync("/api/v1/admin/platform-keys",
            new { name = "backend da plataforma", scopes = scopes.Length > 0 ? scopes : [.. ZapHub.Features.PlatformKeys.PlatformScopes.All] }), HttpStatusCode.Created);
        return created.GetProperty("key").GetString()!;
    }

    /// <summary>A client with a platform key, acting for <paramref name="tenant"/> (its id or slug) when one is named.</summary>
    public HttpClient WithPlatformKey(string key, string? tenant = null)
    {
        var client = WithApiKey(key);
        if (tenant is not null) client.DefaultRequestHeaders.Add(ZapHub.Features.Tenancy.TenantAccess.TenantHeader, tenant);
        return client;
    }

    public HttpClient WithApiKey(string key)
    {
        var client = Anonymous();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        return client;
    }

    /// <summary>
    /// Signs in through the login form (antiforgery included) and returns a client holding the cookie. A one-time
    /// password is replaced on the form ZapHub sends the person to (by the same text, so the test's copy stays valid),
    /// unless the test is about that step.
    /// </summary>
    public async Task<HttpClient> SignInAsync(string email, string password, bool completePasswordChange = true)
    {
        var client = Anonymous();
        var response = await PostLoginAsync(client, email, password);
        var location = response.Headers.Location?.ToString() ?? "";
        if (response.StatusCode != HttpStatusCode.Redirect || location.StartsWith("/login"))
            throw new InvalidOperationException($"Sign-in of {email} failed: {(int)response.StatusCode} -> {location}");
        if (location == "/account/password" && completePasswordChange) await ReplaceOneTimePasswordAsync(client, password, password);
        return client;
    }

    public static async Task<HttpResponseMessage> PostLoginAsync(HttpClient client, string email, string password)
    {
        var token = await AntiforgeryTokenAsync(client, "/login");
        return await client.PostAsync("/account/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["Email"] = email,
            ["Password"] = password,
        }));
    }

    public static async Task<string> AntiforgeryTokenAsync(HttpClient client, string page)
    {
        var html = await client.GetStringAsync(page);
        return TokenPattern().Match(html) is { Success: true } m ? WebUtility.HtmlDecode(m.Groups[1].Value)
            : throw new InvalidOperationException($"No antiforgery token on {page}.");
    }

    public Task<HttpClient> OperatorAsync() => SignInAsync(OperatorEmail, OperatorPassword);

    /// <summary>Registers a gateway through the operator API and returns its id.</summary>
    public async Task<Guid> RegisterGatewayAsync(string kind, string baseUrl, string credentials, int capacity = 50)
    {
        var op = await OperatorAsync();
        var created = await Http.JsonAsync(await op.PostAsJsonAsync("/api/v1/admin/gateways",
            new { name = $"{kind} {Guid.NewGuid():N}"[..20], kind, baseUrl, credentials, capacity }), HttpStatusCode.Created);
        return created.GetProperty("id").GetGuid();
    }

    /// <summary>The operator leaves only gateways of one kind enabled, so new numbers are placed there.</summary>
    public async Task OnlyGatewaysOfKindAsync(string kind)
    {
        var op = await OperatorAsync();
        foreach (var g in (await Http.JsonAsync(await op.GetAsync("/api/v1/admin/gateways"), HttpStatusCode.OK)).EnumerateArray())
        {
            if (g.GetProperty("kind").GetString() == kind) continue;
            await Http.ExpectAsync(await op.PutAsJsonAsync($"/api/v1/admin/gateways/{g.GetProperty("id").GetGuid()}", new
            {
                name = g.GetProperty("name").GetString(), kind = g.GetProperty("kind").GetString(), baseUrl = g.GetProperty("baseUrl").GetString(),
                capacity = g.GetProperty("capacity").GetInt32(), enabled = false,
            }), HttpStatusCode.OK);
        }
    }

    /// <summary>Registers both providers of a running emulator.</summary>
    public async Task<(Guid Evolution, Guid WppConnect)> RegisterEmulatorAsync(EmulatorHost emulator) =>
        (await RegisterGatewayAsync("Evolution", emulator.BaseUrl("evolution"), EmulatorHost.EvolutionKey),
         await RegisterGatewayAsync("WppConnect", emulator.BaseUrl("wppconnect"), EmulatorHost.WppSecret));

    /// <summary>
    /// Creates a tenant with a new owner through the operator API and signs the owner in; the owner replaces the
    /// one-time password as ZapHub demands first, unless the test is about that step.
    /// </summary>
    public async Task<TestTenant> CreateTenantAsync(string? slug = null, bool keepOneTimePassword = false)
    {
        slug ??= "t-" + Guid.NewGuid().ToString("N")[..10];
        var op = await OperatorAsync();
        var response = await op.PostAsJsonAsync("/api/v1/admin/tenants", new { name = $"Tenant {slug}", slug, ownerEmail = $"owner@{slug}.test" });
        await Http.ExpectAsync(response, HttpStatusCode.Created);
        var created = await response.Content.ReadFromJsonAsync<JsonElement>(Json);
        var id = created.GetProperty("tenant").GetProperty("id").GetGuid();
        var email = created.GetProperty("ownerEmail").GetString()!;
        var password = created.GetProperty("ownerOneTimePassword").GetString()!;
        var owner = await SignInAsync(email, password, completePasswordChange: !keepOneTimePassword);
        return new TestTenant(this, id, slug, email, password, owner);
    }

    /// <summary>The password form a person is sent to after signing in with a one-time password.</summary>
    public static async Task ReplaceOneTimePasswordAsync(HttpClient client, string oneTimePassword, string chosen)
    {
        var token = await AntiforgeryTokenAsync(client, "/account/password");
        var change = await client.PostAsync("/account/password", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = token,
            ["CurrentPassword"] = oneTimePassword,
            ["NewPassword"] = chosen,
            ["ConfirmPassword"] = chosen,
        }));
        if (change.Headers.Location?.ToString() != "/")
            throw new InvalidOperationException($"Changing the one-time password failed: {change.StatusCode} {change.Headers.Location}");
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\"[^>]*?value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();
}

public sealed record TestTenant(ZapHubApp App, Guid Id, string Slug, string OwnerEmail, string OwnerPassword, HttpClient Owner)
{
    public async Task<JsonElement> CreateSessionAsync(string name = "Recepção", string? kind = null, Guid? gatewayId = null) =>
        await Http.JsonAsync(await Owner.PostAsJsonAsync("/api/v1/sessions", new { displayName = name, kind, gatewayId }), HttpStatusCode.Created);

    public async Task<JsonElement> SessionAsync(Guid id) => await Http.JsonAsync(await Owner.GetAsync($"/api/v1/sessions/{id}"), HttpStatusCode.OK);

    /// <summary>Waits until the session reaches a state (webhooks arrive asynchronously).</summary>
    public Task<JsonElement> WaitForStateAsync(Guid id, string state, TimeSpan? timeout = null) =>
        Eventually.WaitAsync(() => SessionAsync(id), s => s.GetProperty("state").GetString() == state, $"session {id} to be {state}", timeout);

    /// <summary>Adds a number and connects it by scanning on the emulator; returns its id and instance name.</summary>
    public async Task<(Guid Id, string Instance)> ConnectedSessionAsync(EmulatorHost emulator, string provider, string kind, string name = "Recepção", string phone = "5511999990001")
    {
        var session = await CreateSessionAsync(name, kind);
        var id = session.GetProperty("id").GetGuid();
        var instance = session.GetProperty("instanceName").GetString()!;
        await Http.ExpectAsync(await Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.Accepted);
        await WaitForStateAsync(id, "AwaitingScan");
        await Http.ExpectAsync(await emulator.ScanAsync(provider, instance, phone), HttpStatusCode.OK);
        // Connected as the owner sees it: with its phone. On WPPConnect ZapHub reads the phone with a call of its own just
        // after the link; a test that injects gateway failures must not have that call take one of them.
        await Eventually.WaitAsync(() => SessionAsync(id), s => s.GetProperty("state").GetString() == "Connected" && s.GetProperty("phone").ValueKind == JsonValueKind.String,
            $"session {id} to be connected with its phone");
        return (id, instance);
    }

    public async Task<JsonElement> MessageAsync(Guid id) => await Http.JsonAsync(await Owner.GetAsync($"/api/v1/messages/{id}"), HttpStatusCode.OK);

    /// <summary>Waits until the message reaches a status; returns the message with its timeline.</summary>
    public Task<JsonElement> WaitForMessageAsync(Guid id, string status, TimeSpan? timeout = null) =>
        Eventually.WaitAsync(() => MessageAsync(id), m => m.GetProperty("message").GetProperty("status").GetString() == status, $"message {id} to be {status}", timeout);

    /// <summary>Queues a message through the API and returns its id (202 expected).</summary>
    public async Task<Guid> SendAsync(object body, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/messages") { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        return (await Http.JsonAsync(await Owner.SendAsync(request), HttpStatusCode.Accepted)).GetProperty("id").GetGuid();
    }

    /// <summary>Sets the tenant's sending rules; anything not named keeps a test-friendly value (no pacing, no warm-up).</summary>
    public async Task<JsonElement> SettingsAsync(Action<Dictionary<string, object?>>? change = null)
    {
        var settings = new Dictionary<string, object?>
        {
            ["minGapMs"] = 0, ["jitterMs"] = 0, ["typingDelayMs"] = 0, ["quietFrom"] = null, ["quietUntil"] = null, ["warmupDays"] = 0,
            ["warmupFirstDayLimit"] = 50, ["failoverToOtherNumbers"] = false, ["holdMinutes"] = 60, ["inDoubt"] = "Hold", ["maxAttempts"] = 4,
            ["optOutKeywords"] = new[] { "SAIR", "PARAR", "CANCELAR", "STOP" },
        };
        change?.Invoke(settings);
        return await Http.JsonAsync(await Owner.PutAsJsonAsync("/api/v1/messaging/settings", settings), HttpStatusCode.OK);
    }

    /// <summary>Adds a webhook endpoint through the API; returns its id and its secret (shown once).</summary>
    public async Task<(Guid Id, string Secret)> CreateWebhookAsync(string url, params string[] eventTypes)
    {
        var created = await Http.JsonAsync(await Owner.PostAsJsonAsync("/api/v1/webhooks", new { url, description = "test receiver", eventTypes }), HttpStatusCode.Created);
        return (created.GetProperty("endpoint").GetProperty("id").GetGuid(), created.GetProperty("secret").GetString()!);
    }

    public async Task<JsonElement> DeliveriesAsync(Guid webhookId) =>
        await Http.JsonAsync(await Owner.GetAsync($"/api/v1/webhooks/{webhookId}/deliveries?limit=200"), HttpStatusCode.OK);

    public async Task<(Guid Id, string Key)> CreateApiKeyAsync(params string[] scopes)
    {
        var response = await Owner.PostAsJsonAsync("/api/v1/api-keys", new { name = "key " + Guid.NewGuid().ToString("N")[..6], scopes });
        await Http.ExpectAsync(response, HttpStatusCode.Created);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(ZapHubApp.Json);
        return (body.GetProperty("apiKey").GetProperty("id").GetGuid(), body.GetProperty("key").GetString()!);
    }

    public async Task<(Guid MemberId, string Email, string Password)> AddMemberAsync(string role = "Member")
    {
        var email = $"m{Guid.NewGuid():N}"[..12] + $"@{Slug}.test";
        var response = await Owner.PostAsJsonAsync("/api/v1/members", new { email, role });
        await Http.ExpectAsync(response, HttpStatusCode.Created);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(ZapHubApp.Json);
        return (body.GetProperty("member").GetProperty("id").GetGuid(), email, body.GetProperty("oneTimePassword").GetString()!);
    }
}

public static class Http
{
    /// <summary>Asserts a status code and shows the response body when it differs.</summary>
    public static async Task ExpectAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        if (response.StatusCode == expected) return;
        var body = await response.Content.ReadAsStringAsync();
        Assert.Fail($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}: expected {(int)expected} {expected}, got {(int)response.StatusCode} {response.StatusCode}.\n{body}");
    }

    public static async Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        await ExpectAsync(response, expected);
        return await response.Content.ReadFromJsonAsync<JsonElement>(ZapHubApp.Json);
    }
}
