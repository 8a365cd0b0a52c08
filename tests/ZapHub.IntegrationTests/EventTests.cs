using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using ZapHub.Features.Events;
using ZapHub.Features.Tenancy;
using ZapHub.IntegrationTests.Infrastructure;

namespace ZapHub.IntegrationTests;

/// <summary>
/// Events out, end to end: real receivers on loopback that check every signature, the retry schedule on a test
/// clock, the SSRF guard, the stream's resume, and tenants kept apart on both channels.
/// </summary>
public class EventTests
{
    private static ZapHubApp NewApp(FakeTimeProvider? clock = null)
    {
        var app = new ZapHubApp().With("Webhooks:AllowPrivateTargets", "true").With("Webhooks:PollInterval", "00:00:00.100");
        if (clock is not null) app.UseClock(clock);
        return app;
    }

    /// <summary>A tenant whose calls use an API key: a session cookie would not outlive the test clock's jumps.</summary>
    private static async Task<TestTenant> TenantWithKeyAsync(ZapHubApp app)
    {
        var tenant = await app.CreateTenantAsync();
        var (_, key) = await tenant.CreateApiKeyAsync([.. ApiScopes.All]);
        return tenant with { Owner = app.WithApiKey(key) };
    }

    /// <summary>The endpoint's newest delivery, once it has made at least this many attempts.</summary>
    private static async Task<JsonElement> DeliveryAfterAsync(TestTenant tenant, Guid webhookId, int attempts) =>
        (await Eventually.WaitAsync(() => tenant.DeliveriesAsync(webhookId),
            d => d.GetArrayLength() > 0 && d[0].GetProperty("attempts").GetInt32() >= attempts, $"attempt {attempts}"))[0];

    private static async Task<JsonElement> OptOutAsync(TestTenant tenant, string phone) =>
        await Http.JsonAsync(await tenant.Owner.PostAsJsonAsync("/api/v1/contacts", new { phone, name = "Cliente " + phone[^4..], optedOut = true }), HttpStatusCode.Created);

    [Theory]
    [InlineData("evolution", "Evolution")]
    [InlineData("wppconnect", "WppConnect")]
    public async Task TheTenantsSystemGetsEveryEventOfANumbersLifeSignedAndVerifiable(string provider, string kind)
    {
        await using var emulator = await EmulatorHost.StartAsync();
        await using var receiver = await SignedReceiver.StartAsync();
        await using var app = NewApp();
        app.ServeOverKestrel();
        await app.RegisterEmulatorAsync(emulator);
        var tenant = await app.CreateTenantAsync();
        await tenant.SettingsAsync();
        var (_, secret) = await tenant.CreateWebhookAsync(receiver.Url);
        receiver.Secrets.Add(secret);

        var (sessionId, instance) = await tenant.ConnectedSessionAsync(emulator, provider, kind);
        var messageId = await tenant.SendAsync(new { to = "11988887777", text = "Sua consulta é amanhã às 14h", sessionId });
        var sent = await tenant.WaitForMessageAsync(messageId, "Sent");
        var providerId = sent.GetProperty("message").GetProperty("providerMessageId").GetString()!;
        await Http.ExpectAsync(await emulator.AckAsync(provider, instance, providerId, "read"), HttpStatusCode.OK);
        await Http.ExpectAsync(await emulator.InboundAsync(provider, instance, "5511988887777", "SAIR", "Maria"), HttpStatusCode.OK);

        var optedOut = await receiver.WaitForAsync(h => h.Type == EventTypes.ContactOptedOut, "contact.opted_out");
        Assert.Equal("+5511988887777", optedOut.Body.GetProperty("data").GetProperty("phone").GetString());
        // Opted back in by a person; a message to a number not on WhatsApp fails for good; the number is removed.
        var contactId = optedOut.Body.GetProperty("data").GetProperty("contactId").GetGuid();
        await Http.ExpectAsync(await tenant.Owner.PostAsync($"/api/v1/contacts/{contactId}/opt-in", null), HttpStatusCode.OK);
        await receiver.WaitForAsync(h => h.Type == EventTypes.ContactOptedIn && h.Body.GetProperty("data").GetProperty("contactId").GetGuid() == contactId, "contact.opted_in");
        var bad = await tenant.SendAsync(new { to = "(11) 93000-0000", text = "x", sessionId });
        var failed = await receiver.WaitForAsync(h => h.Type == EventTypes.MessageFailed, "message.failed");
        Assert.Equal(bad, failed.Body.GetProperty("data").GetProperty("messageId").GetGuid());
        Assert.Equal("invalid_number", failed.Body.GetProperty("data").GetProperty("failureCategory").GetString());
        var received = await receiver.WaitForAsync(h => h.Type == EventTypes.MessageReceived, "message.received");
        Assert.Equal("SAIR", received.Body.GetProperty("data").GetProperty("text").GetString());
        var read = await receiver.WaitForAsync(h => h.Type == EventTypes.MessageStatusChanged && h.Body.GetProperty("data").GetProperty("status").GetString() == "read", "read receipt");
        Assert.Equal(messageId, read.Body.GetProperty("data").GetProperty("messageId").GetGuid());
        Assert.Equal("+5511988887777", read.Body.GetProperty("data").GetProperty("to").GetString());

        var hits = receiver.Hits.ToList();
        Assert.All(hits, h => Assert.True(h.SignatureValid, $"{h.Type} {h.Id}: signature {h.SignatureHeader} does not verify"));
        Assert.All(hits, h => Assert.Equal(["type", "timestamp", "data"], h.Body.EnumerateObject().Select(p => p.Name)));
        var types = hits.Select(h => h.Type).ToHashSet();
        foreach (var expected in new[] { EventTypes.SessionCreated, EventTypes.SessionStateChanged, EventTypes.SessionQrUpdated, EventTypes.MessageStatusChanged })
            Assert.Contains(expected, types);
        var connected = hits.First(h => h.Type == EventTypes.SessionStateChanged && h.Body.GetProperty("data").GetProperty("state").GetString() == "connected");
        Assert.Equal(sessionId, connected.Body.GetProperty("data").GetProperty("sessionId").GetGuid());
        // Deliveries are posted a few at a time, so two events due together may arrive in either order: compare by when they happened.
        var statuses = hits.Where(h => h.Type == EventTypes.MessageStatusChanged).OrderBy(h => h.Body.GetProperty("timestamp").GetDateTimeOffset())
            .Select(h => h.Body.GetProperty("data").GetProperty("status").GetString()).ToList();
        Assert.Equal(["queued", "sent", "read"], statuses.Where(s => s is "queued" or "sent" or "read").Distinct());
        Assert.Equal(hits.Count, hits.Select(h => h.Id).Distinct().Count());

        await Http.ExpectAsync(await tenant.Owner.DeleteAsync($"/api/v1/sessions/{sessionId}"), HttpStatusCode.NoContent);
        var deleted = await receiver.WaitForAsync(h => h.Type == EventTypes.SessionDeleted, "session.deleted");
        Assert.Equal(sessionId, deleted.Body.GetProperty("data").GetProperty("sessionId").GetGuid());
        Assert.All(receiver.Hits, h => Assert.True(h.SignatureValid));
    }

    [Fact]
    public async Task AReceiverThatIsDownIsRetriedOnScheduleWithTheSameIdAndGetsTheEventOnceItIsBack()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var receiver = await SignedReceiver.StartAsync();
        await using var app = NewApp(clock);
        var tenant = await TenantWithKeyAsync(app);
        var (webhookId, secret) = await tenant.CreateWebhookAsync(receiver.Url, EventTypes.ContactOptedOut);
        receiver.Secrets.Add(secret);
        receiver.Answer = _ => 503;

        await OptOutAsync(tenant, "11911112222");

        var schedule = new[] { TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30) };
        var delivery = await DeliveryAfterAsync(tenant, webhookId, 1);
        Assert.Equal(503, delivery.GetProperty("lastStatusCode").GetInt32());
        await receiver.StopAsync();
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            var wait = delivery.GetProperty("nextAttemptAt").GetDateTime() - clock.GetUtcNow().UtcDateTime;
            var planned = schedule[attempt - 1];
            Assert.InRange(wait, planned * 0.79, planned * 1.21);
            clock.Advance(planned * 0.5);
            await Task.Delay(300);
            Assert.Equal(attempt, (await tenant.DeliveriesAsync(webhookId))[0].GetProperty("attempts").GetInt32());
            if (attempt == 3) await receiver.StartAsync(receiver.Port);
            if (attempt == 3) receiver.Answer = _ => 200;
            clock.Advance(wait - planned * 0.5);
            delivery = await DeliveryAfterAsync(tenant, webhookId, attempt + 1);
        }

        Assert.Equal("Succeeded", delivery.GetProperty("status").GetString());
        var log = await Http.JsonAsync(await tenant.Owner.GetAsync($"/api/v1/webhooks/{webhookId}/deliveries/{delivery.GetProperty("id").GetInt64()}"), HttpStatusCode.OK);
        var attempts = log.GetProperty("attempts").EnumerateArray().ToList();
        Assert.Equal([503, null, null, 200], attempts.Select(a => a.GetProperty("statusCode").ValueKind == JsonValueKind.Null ? (int?)null : a.GetProperty("statusCode").GetInt32()));
        Assert.Contains("refused", attempts[1].GetProperty("error").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal("hook_unreachable", attempts[1].GetProperty("errorCode").GetString());
        Assert.Equal(4, attempts.Select(a => a.GetProperty("at").GetDateTime()).Distinct().Count());
        var hits = receiver.Hits.ToList();
        Assert.Equal(2, hits.Count);
        Assert.Single(hits.Select(h => h.Id).Distinct());
        Assert.All(hits, h => Assert.True(h.SignatureValid));
        Assert.Single(receiver.Delivered);
    }

    [Fact]
    public async Task RetryAfterIsHonouredAnd410DisablesTheEndpoint()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var receiver = await SignedReceiver.StartAsync();
        await using var app = NewApp(clock);
        var tenant = await TenantWithKeyAsync(app);
        var (webhookId, secret) = await tenant.CreateWebhookAsync(receiver.Url);
        receiver.Secrets.Add(secret);
        receiver.Answer = response =>
        {
            response.Headers.RetryAfter = "120";
            return 429;
        };

        await OptOutAsync(tenant, "11911113333");
        var first = await DeliveryAfterAsync(tenant, webhookId, 1);
        // PostgreSQL keeps microseconds, the test clock ticks finer: equal to the millisecond.
        Assert.Equal(120_000, Math.Round((first.GetProperty("nextAttemptAt").GetDateTime() - clock.GetUtcNow().UtcDateTime).TotalMilliseconds));

        receiver.Answer = _ => 410;
        clock.Advance(TimeSpan.FromSeconds(120));
        var endpoint = await Eventually.WaitAsync(async () => await Http.JsonAsync(await tenant.Owner.GetAsync($"/api/v1/webhooks/{webhookId}"), HttpStatusCode.OK),
            e => !e.GetProperty("enabled").GetBoolean(), "the endpoint to be disabled");
        Assert.Contains("410", endpoint.GetProperty("disabledReason").GetString());
        Assert.Equal("Failed", (await tenant.DeliveriesAsync(webhookId))[0].GetProperty("status").GetString());

        // Nothing more goes to it, until a person switches it back on.
        await OptOutAsync(tenant, "11911114444");
        await Task.Delay(500);
        Assert.Equal(2, receiver.Hits.Count);
        Assert.Single((await tenant.DeliveriesAsync(webhookId)).EnumerateArray());
        var audit = await (await (await app.OperatorAsync()).GetAsync($"/api/v1/admin/audit?tenantId={tenant.Id}")).Content.ReadAsStringAsync();
        Assert.True(audit.Contains(webhookId.ToString()), audit);
    }

    [Fact]
    public async Task ARedirectIsAFailedAttemptAndIsNotFollowed()
    {
        await using var receiver = await SignedReceiver.StartAsync();
        await using var elsewhere = await SignedReceiver.StartAsync();
        await using var app = NewApp();
        var tenant = await app.CreateTenantAsync();
        var (webhookId, secret) = await tenant.CreateWebhookAsync(receiver.Url);
        receiver.Secrets.Add(secret);
        receiver.Answer = response =>
        {
            response.Headers.Location = elsewhere.Url;
            return 307;
        };

        await OptOutAsync(tenant, "11911117777");
        var delivery = await DeliveryAfterAsync(tenant, webhookId, 1);
        Assert.Equal(307, delivery.GetProperty("lastStatusCode").GetInt32());
        Assert.Equal("Pending", delivery.GetProperty("status").GetString());
        await Task.Delay(300);
        Assert.Empty(elsewhere.Hits);
    }

    [Fact]
    public async Task AnEndpointFailingForTooLongIsDisabledWithAVisibleReason()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var receiver = await SignedReceiver.StartAsync();
        await using var app = NewApp(clock).With("Webhooks:DisableAfter", "01:00:00");
        var tenant = await TenantWithKeyAsync(app);
        var (webhookId, secret) = await tenant.CreateWebhookAsync(receiver.Url);
        receiver.Secrets.Add(secret);
        receiver.Answer = _ => 500;

        await OptOutAsync(tenant, "11911115555");
        for (var attempt = 1; attempt <= 5; attempt++)
        {
            var delivery = await DeliveryAfterAsync(tenant, webhookId, attempt);
            if (delivery.GetProperty("nextAttemptAt").ValueKind == JsonValueKind.Null) break;
            clock.Advance(delivery.GetProperty("nextAttemptAt").GetDateTime() - clock.GetUtcNow().UtcDateTime);
        }
        var endpoint = await Eventually.WaitAsync(async () => await Http.JsonAsync(await tenant.Owner.GetAsync($"/api/v1/webhooks/{webhookId}"), HttpStatusCode.OK),
            e => !e.GetProperty("enabled").GetBoolean(), "the endpoint to be disabled");
        Assert.Contains("No delivery succeeded", endpoint.GetProperty("disabledReason").GetString());
        Assert.NotEqual(JsonValueKind.Null, endpoint.GetProperty("failingSince").ValueKind);

        // Switched on again by a person: the alert clears and events flow.
        receiver.Answer = _ => 200;
        await Http.ExpectAsync(await tenant.Owner.PutAsJsonAsync($"/api/v1/webhooks/{webhookId}", new { url = receiver.Url, enabled = true }), HttpStatusCode.OK);
        await OptOutAsync(tenant, "11911116666");
        await receiver.WaitForAsync(h => h.Body.GetProperty("data").GetProperty("phone").GetString() == "+5511911116666", "the next event");
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080/hook", "loopback")]
    [InlineData("http://10.20.30.40/hook", "private")]
    [InlineData("http://192.168.0.10/hook", "private")]
    [InlineData("http://169.254.169.254/latest/meta-data/", "cloud metadata")]
    [InlineData("http://localhost:8080/hook", "loopback")]
    [InlineData("http://[::1]:8080/hook", "loopback")]
    [InlineData("ftp://example.com/hook", "http")]
    public async Task UrlsLeadingIntoThePrivateNetworkAreRefusedWhenNotAllowed(string url, string reason)
    {
        await using var app = new ZapHubApp();
        var tenant = await app.CreateTenantAsync();
        var response = await tenant.Owner.PostAsJsonAsync("/api/v1/webhooks", new { url });
        var problem = await Http.JsonAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("url_refused", problem.GetProperty("code").GetString());
        Assert.Contains(reason, problem.ToString());
        Assert.Empty((await Http.JsonAsync(await tenant.Owner.GetAsync("/api/v1/webhooks"), HttpStatusCode.OK)).EnumerateArray());
    }

    [Fact]
    public async Task MetadataAddressesStayRefusedEvenWhenPrivateTargetsAreAllowed()
    {
        await using var app = NewApp();
        var tenant = await app.CreateTenantAsync();
        var problem = await Http.JsonAsync(await tenant.Owner.PostAsJsonAsync("/api/v1/webhooks", new { url = "http://169.254.169.254/" }), HttpStatusCode.BadRequest);
        Assert.Contains("cloud metadata", problem.ToString());
    }

    /// <summary>A DNS answer that changes after the check: the name looked public when saved and points at loopback when called.</summary>
    private sealed class RebindingResolver : HostResolver
    {
        private int calls;

        public override Task<IPAddress[]> ResolveAsync(string host, CancellationToken ct) =>
            host != "hooks.rebind.test" ? base.ResolveAsync(host, ct)
            : Task.FromResult(Interlocked.Increment(ref calls) == 1 ? [IPAddress.Parse("93.184.216.34")] : new[] { IPAddress.Loopback });
    }

    [Fact]
    public async Task TheAddressIsCheckedAgainAtConnectTimeSoARebindingNameReachesNothing()
    {
        await using var receiver = await SignedReceiver.StartAsync();
        await using var app = new ZapHubApp().With("Webhooks:PollInterval", "00:00:00.100")
            .WithServices(s => s.AddSingleton<HostResolver, RebindingResolver>());
        var tenant = await app.CreateTenantAsync();
        var (webhookId, _) = await tenant.CreateWebhookAsync($"http://hooks.rebind.test:{receiver.Port}/hooks/zaphub");
        await Http.ExpectAsync(await tenant.Owner.PostAsync($"/api/v1/webhooks/{webhookId}/test", null), HttpStatusCode.Accepted);

        var delivery = await DeliveryAfterAsync(tenant, webhookId, 1);
        Assert.Contains("resolves to 127.0.0.1, a loopback address", delivery.GetProperty("lastError").GetString());
        Assert.Empty(receiver.Hits);
    }

    [Fact]
    public async Task ARotatedSecretSignsAlongsideTheOldOneDuringTheOverlap()
    {
        await using var receiver = await SignedReceiver.StartAsync();
        await using var app = NewApp();
        var tenant = await app.CreateTenantAsync();
        var (webhookId, oldSecret) = await tenant.CreateWebhookAsync(receiver.Url);
        var rotated = await Http.JsonAsync(await tenant.Owner.PostAsync($"/api/v1/webhooks/{webhookId}/rotate-secret", null), HttpStatusCode.OK);
        var newSecret = rotated.GetProperty("secret").GetString()!;
        Assert.StartsWith("whsec_", newSecret);
        Assert.NotEqual(oldSecret, newSecret);

        receiver.Secrets.Add(oldSecret);
        await OptOutAsync(tenant, "11922223333");
        var hit = await receiver.WaitForAsync(_ => true, "an event");
        Assert.True(hit.SignatureValid, "the old secret must still verify during the overlap");
        var signatures = hit.SignatureHeader.Split(' ');
        Assert.Equal(2, signatures.Length);
        var body = System.Text.Encoding.UTF8.GetBytes(hit.Body.GetRawText());
        Assert.DoesNotContain(oldSecret, (await tenant.Owner.GetStringAsync($"/api/v1/webhooks/{webhookId}")));
        lock (receiver.Secrets) { receiver.Secrets.Clear(); receiver.Secrets.Add(newSecret); }
        await OptOutAsync(tenant, "11922224444");
        Assert.True((await receiver.WaitForAsync(h => h.Body.GetProperty("data").GetProperty("phone").GetString() == "+5511922224444", "the second event")).SignatureValid);
    }

    [Fact]
    public async Task TestEventsRedeliveryAndReplayResendTheSameEventIds()
    {
        await using var receiver = await SignedReceiver.StartAsync();
        await using var app = NewApp();
        var tenant = await app.CreateTenantAsync();
        var since = DateTime.UtcNow.AddSeconds(-1);
        var (webhookId, secret) = await tenant.CreateWebhookAsync(receiver.Url, EventTypes.ContactOptedOut, EventTypes.ContactOptedIn);
        receiver.Secrets.Add(secret);

        var test = await Http.JsonAsync(await tenant.Owner.PostAsync($"/api/v1/webhooks/{webhookId}/test", null), HttpStatusCode.Accepted);
        var testHit = await receiver.WaitForAsync(h => h.Type == EventTypes.WebhookTest, "the test event");
        Assert.Equal(test.GetProperty("eventId").GetString(), testHit.Id);

        foreach (var phone in new[] { "11933330001", "11933330002", "11933330003" }) await OptOutAsync(tenant, phone);
        await Eventually.WaitAsync(() => Task.FromResult(receiver.Delivered.Count), c => c == 4, "four deliveries");
        var firstIds = receiver.Delivered.Where(h => h.Type == EventTypes.ContactOptedOut).Select(h => h.Id).ToList();

        var deliveries = (await tenant.DeliveriesAsync(webhookId)).EnumerateArray().ToList();
        var one = deliveries.First(d => d.GetProperty("eventType").GetString() == EventTypes.ContactOptedOut);
        await Http.ExpectAsync(await tenant.Owner.PostAsync($"/api/v1/webhooks/{webhookId}/deliveries/{one.GetProperty("id").GetInt64()}/redeliver", null), HttpStatusCode.Accepted);
        await Eventually.WaitAsync(() => Task.FromResult(receiver.Delivered.Count), c => c == 5, "the redelivery");
        Assert.Equal(one.GetProperty("eventId").GetString(), receiver.Delivered[^1].Id);

        var replay = await Http.JsonAsync(await tenant.Owner.PostAsJsonAsync($"/api/v1/webhooks/{webhookId}/replay", new { since }), HttpStatusCode.Accepted);
        Assert.Equal(3, replay.GetProperty("queued").GetInt32());
        await Eventually.WaitAsync(() => Task.FromResult(receiver.Delivered.Count), c => c == 8, "the replay");
        Assert.Equal(firstIds.Order(), receiver.Delivered.Skip(5).Select(h => h.Id).Order());
        Assert.All(receiver.Hits, h => Assert.True(h.SignatureValid));
        var origins = (await tenant.DeliveriesAsync(webhookId)).EnumerateArray().Select(d => d.GetProperty("origin").GetString()).ToList();
        Assert.Equal(3, origins.Count(o => o == "replay"));
        Assert.Equal(1, origins.Count(o => o == "redelivery"));
        Assert.Equal(1, origins.Count(o => o == "test"));
    }

    [Fact]
    public async Task TheStreamResumesFromLastEventIdWithoutLosingOrRepeatingEvents()
    {
        await using var app = NewApp();
        app.ServeOverKestrel();
        var tenant = await app.CreateTenantAsync();
        var (_, key) = await tenant.CreateApiKeyAsync(ApiScopes.EventsRead);
        var reader = app.WithApiKey(key);

        await using var stream = await EventStreamClient.OpenAsync(reader, null);
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 10; i++) await OptOutAsync(tenant, $"119444{w:00}{i:000}");
        })).ToList();
        var firstPart = await stream.ReadAsync(12);
        await stream.DisposeAsync();
        await Task.WhenAll(writers);

        await using var resumed = await EventStreamClient.OpenAsync(reader, firstPart[^1].Id);
        var rest = await resumed.ReadAsync(40 - firstPart.Count);
        var all = firstPart.Concat(rest).ToList();
        Assert.Equal(40, all.Select(e => e.Id).Distinct().Count());
        Assert.All(all, e => Assert.Equal(EventTypes.ContactOptedOut, e.Type));
        var listed = await Http.JsonAsync(await reader.GetAsync("/api/v1/events?limit=100"), HttpStatusCode.OK);
        Assert.Equal(listed.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("id").GetString()), all.Select(e => e.Id));

        // Live, after the catch-up.
        await OptOutAsync(tenant, "11955550000");
        Assert.Contains("+5511955550000", (await resumed.ReadAsync(1))[0].Data);

        var unknown = await reader.GetAsync("/api/v1/events/stream?lastEventId=evt_nope");
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
    }

    [Fact]
    [Trait("Category", "PostgresOnly")]
    public async Task AStreamOnAWebOnlyNodeGetsEventsMadeOnAnotherNodeAtOnce()
    {
        await using var worker = NewApp().With("Events:StreamHeartbeat", "00:01:00");
        var tenant = await worker.CreateTenantAsync();
        var (_, key) = await tenant.CreateApiKeyAsync(ApiScopes.EventsRead);
        await using var web = new ZapHubApp(shareDatabaseWith: worker).With("Node:Roles:0", "web").With("Node:Roles:1", "");
        web.ServeOverKestrel();
        Assert.False(web.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<ZapHub.Platform.NodeOptions>>().Value.RunsWorkers);
        await Eventually.WaitAsync(() => Task.FromResult(web.Services.GetRequiredService<ZapHub.Features.Sessions.SessionNotifier>().FansOut), on => on, "the web node to listen");
        await using var stream = await EventStreamClient.OpenAsync(web.WithApiKey(key), null);

        await OptOutAsync(tenant, "11988880000");
        // No relay runs on the web node and its idle stream would only look again after a minute: the relay's NOTIFY wakes it.
        var seen = await stream.ReadAsync(1, TimeSpan.FromSeconds(20));
        Assert.Contains("+5511988880000", seen[0].Data);
    }

    [Fact]
    public async Task TheStreamCanBeFilteredByEventType()
    {
        await using var app = NewApp();
        app.ServeOverKestrel();
        var tenant = await app.CreateTenantAsync();
        var (_, key) = await tenant.CreateApiKeyAsync(ApiScopes.EventsRead);
        var reader = app.WithApiKey(key);
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/events/stream?types=contact.opted_in");
        using var response = await reader.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var lines = new StreamReader(await response.Content.ReadAsStreamAsync());

        var contact = await OptOutAsync(tenant, "11966660000");
        await Http.ExpectAsync(await tenant.Owner.PostAsync($"/api/v1/contacts/{contact.GetProperty("id").GetGuid()}/opt-in", null), HttpStatusCode.OK);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        string? line;
        var types = new List<string>();
        while ((line = await lines.ReadLineAsync(timeout.Token)) is not null && types.Count == 0)
            if (line.StartsWith("event: ")) types.Add(line[7..]);
        Assert.Equal([EventTypes.ContactOptedIn], types);
        Assert.Equal(HttpStatusCode.BadRequest, (await reader.GetAsync("/api/v1/events/stream?types=contact.exploded")).StatusCode);
    }

    [Fact]
    public async Task TenantBNeverReceivesTenantAsEventsOnEitherChannel()
    {
        await using var receiverA = await SignedReceiver.StartAsync();
        await using var receiverB = await SignedReceiver.StartAsync();
        await using var app = NewApp();
        app.ServeOverKestrel();
        var a = await app.CreateTenantAsync();
        var b = await app.CreateTenantAsync();
        receiverA.Secrets.Add((await a.CreateWebhookAsync(receiverA.Url)).Secret);
        receiverB.Secrets.Add((await b.CreateWebhookAsync(receiverB.Url)).Secret);
        var (_, keyB) = await b.CreateApiKeyAsync(ApiScopes.EventsRead);
        await using var streamB = await EventStreamClient.OpenAsync(app.WithApiKey(keyB), null);

        for (var i = 0; i < 5; i++) await OptOutAsync(a, $"1196666{i:0000}");
        await OptOutAsync(b, "11977770000");

        var fromStream = await streamB.ReadAsync(1);
        Assert.Contains("+5511977770000", fromStream[0].Data);
        await receiverB.WaitForAsync(_ => true, "B's event");
        await Eventually.WaitAsync(() => Task.FromResult(receiverA.Delivered.Count), c => c == 5, "A's events");
        await Task.Delay(300);
        Assert.Single(receiverB.Hits);
        Assert.All(receiverA.Hits, h => Assert.StartsWith("+55119666", h.Body.GetProperty("data").GetProperty("phone").GetString()));
        // B's key cannot page through A's events either, nor name one of them to resume from.
        var listedB = await Http.JsonAsync(await app.WithApiKey(keyB).GetAsync("/api/v1/events"), HttpStatusCode.OK);
        Assert.Single(listedB.GetProperty("events").EnumerateArray());
        var resumeFromA = await app.WithApiKey(keyB).GetAsync($"/api/v1/events/stream?lastEventId={receiverA.Hits.First().Id}");
        Assert.Equal(HttpStatusCode.BadRequest, resumeFromA.StatusCode);
    }

    [Fact]
    public async Task EventTypeFiltersAndUnknownTypesAreChecked()
    {
        await using var app = NewApp();
        var tenant = await app.CreateTenantAsync();
        var problem = await Http.JsonAsync(await tenant.Owner.PostAsJsonAsync("/api/v1/webhooks", new { url = "http://127.0.0.1:9/x", eventTypes = new[] { "message.exploded" } }), HttpStatusCode.BadRequest);
        Assert.Equal("event_type_unknown", problem.GetProperty("code").GetString());
        var types = await Http.JsonAsync(await tenant.Owner.GetAsync("/api/v1/events/types"), HttpStatusCode.OK);
        Assert.Contains("message.status_changed", types.EnumerateArray().Select(t => t.GetString()));
    }
}

/// <summary>A Server-Sent Events client, reading the raw text/event-stream like a browser's EventSource would.</summary>
public sealed class EventStreamClient : IAsyncDisposable
{
    public sealed record Event(string Id, string Type, string Data);

    private readonly HttpResponseMessage response;
    private readonly StreamReader reader;

    private EventStreamClient(HttpResponseMessage response, StreamReader reader) => (this.response, this.reader) = (response, reader);

    public static async Task<EventStreamClient> OpenAsync(HttpClient client, string? lastEventId)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/events/stream");
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await Http.ExpectAsync(response, HttpStatusCode.OK);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return new EventStreamClient(response, new StreamReader(await response.Content.ReadAsStreamAsync()));
    }

    public async Task<List<Event>> ReadAsync(int count, TimeSpan? within = null)
    {
        using var timeout = new CancellationTokenSource(within ?? TimeSpan.FromSeconds(20));
        var events = new List<Event>();
        string? id = null, type = null, data = null;
        while (events.Count < count)
        {
            var line = await reader.ReadLineAsync(timeout.Token) ?? throw new InvalidOperationException("The stream ended.");
            if (line.StartsWith("id: ")) id = line[4..];
            else if (line.StartsWith("event: ")) type = line[7..];
            else if (line.StartsWith("data: ")) data = line[6..];
            else if (line.Length == 0 && id is not null)
            {
                events.Add(new Event(id, type!, data!));
                id = type = data = null;
            }
        }
        return events;
    }

    public ValueTask DisposeAsync()
    {
        reader.Dispose();
        response.Dispose();
        return ValueTask.CompletedTask;
    }
}
