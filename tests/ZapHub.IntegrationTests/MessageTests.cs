using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using ZapHub.IntegrationTests.Infrastructure;

namespace ZapHub.IntegrationTests;

/// <summary>
/// Sending through the outbox against the gateway emulator over loopback, for both providers: what the tenant's
/// system sees through the API, and what the "phone" (the emulator) actually received.
/// </summary>
public class MessageTests
{
    public static TheoryData<string, string> Providers => new() { { "evolution", "Evolution" }, { "wppconnect", "WppConnect" } };

    private static readonly TimeZoneInfo SaoPaulo = TimeZoneInfo.FindSystemTimeZoneById("America/Sao_Paulo");

    private sealed class Setup : IAsyncDisposable
    {
        public required ZapHubApp App { get; init; }
        public required EmulatorHost Emulator { get; init; }
        public required TestTenant Tenant { get; init; }
        public FakeTimeProvider? Clock { get; init; }

        public async ValueTask DisposeAsync()
        {
            await App.DisposeAsync();
            await Emulator.DisposeAsync();
        }
    }

    private static async Task<Setup> StartAsync(FakeTimeProvider? clock = null, params (string Key, string Value)[] appSettings)
    {
        var emulator = await EmulatorHost.StartAsync();
        var app = new ZapHubApp();
        if (clock is not null) app.UseClock(clock);
        foreach (var (k, v) in appSettings) app.With(k, v);
        app.ServeOverKestrel();
        await app.RegisterEmulatorAsync(emulator);
        var tenant = await app.CreateTenantAsync();
        // The tenant's system, as in production, calls with an API key (a session cookie would not outlive the clock jumps).
        var (_, key) = await tenant.CreateApiKeyAsync([.. ZapHub.Features.Tenancy.ApiScopes.All]);
        tenant = tenant with { Owner = app.WithApiKey(key) };
        await tenant.SettingsAsync();
        return new Setup { App = app, Emulator = emulator, Tenant = tenant, Clock = clock };
    }

    /// <summary>A test clock set to the next moment it is <paramref name="hour"/>:<paramref name="minute"/> in São Paulo.</summary>
    private static FakeTimeProvider ClockAtSaoPaulo(int hour, int minute)
    {
        var local = TimeZoneInfo.ConvertTimeFromUtc(DateTime.UtcNow, SaoPaulo).Date.AddDays(1).AddHours(hour).AddMinutes(minute);
        return new FakeTimeProvider(new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(local, SaoPaulo)));
    }

    private static string Status(JsonElement detail) => detail.GetProperty("message").GetProperty("status").GetString()!;

    private static async Task<List<JsonElement>> ReceivedAsync(EmulatorHost emulator, string instance, string to) =>
        (await emulator.MessagesAsync(instance)).Where(m => m.GetProperty("to").GetString() == to).ToList();

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task AMessageIsQueuedSentAndItsReceiptsMoveItToRead(string provider, string kind)
    {
        await using var s = await StartAsync();
        var (_, instance) = await s.Tenant.ConnectedSessionAsync(s.Emulator, provider, kind);

        var response = await s.Tenant.Owner.PostAsJsonAsync("/api/v1/messages", new { to = "(11) 98888-7777", text = "Seu horário está confirmado para amanhã às 10h" });
        var accepted = await Http.JsonAsync(response, HttpStatusCode.Accepted);
        var id = accepted.GetProperty("id").GetGuid();
        Assert.Equal($"/api/v1/messages/{id}", response.Headers.Location?.ToString());
        Assert.Equal("+5511988887777", accepted.GetProperty("peer").GetString());

        var sent = await s.Tenant.WaitForMessageAsync(id, "Sent");
        var providerId = sent.GetProperty("message").GetProperty("providerMessageId").GetString()!;
        var received = Assert.Single(await ReceivedAsync(s.Emulator, instance, "5511988887777"));
        Assert.Equal("Seu horário está confirmado para amanhã às 10h", received.GetProperty("text").GetString());
        Assert.Equal(providerId, received.GetProperty("messageId").GetString());

        await Http.ExpectAsync(await s.Emulator.AckAsync(provider, instance, providerId, "delivered"), HttpStatusCode.OK);
        await s.Tenant.WaitForMessageAsync(id, "Delivered");
        await Http.ExpectAsync(await s.Emulator.AckAsync(provider, instance, providerId, "read"), HttpStatusCode.OK);
        var read = await s.Tenant.WaitForMessageAsync(id, "Read");
        var timeline = read.GetProperty("timeline").EnumerateArray().Select(e => e.GetProperty("status").GetString()).ToList();
        Assert.Equal(["Queued", "Sent", "Delivered", "Read"], timeline);
        Assert.NotNull(read.GetProperty("message").GetProperty("readAt").GetString());
        Assert.Equal(1, (await s.Tenant.SessionAsync((Guid)read.GetProperty("message").GetProperty("sessionId").GetGuid())).GetProperty("sentToday").GetInt32());
    }

    [Fact]
    public async Task AReceiptThatArrivesBeforeTheSendCallReturnsIsNotLost()
    {
        await using var s = await StartAsync();
        var (_, instance) = await s.Tenant.ConnectedSessionAsync(s.Emulator, "wppconnect", "WppConnect");
        // The gateway sends at once but answers late: its "sent" receipt, and the phone's "read" posted the moment the
        // message shows up, both reach ZapHub while the send call is still open, before ZapHub knows the message's id.
        await Http.ExpectAsync(await s.Emulator.FaultsAsync(new { answerDelayMs = 1500 }), HttpStatusCode.OK);
        var id = await s.Tenant.SendAsync(new { to = "11988887777", text = "corrida" });
        var providerId = (await Eventually.WaitAsync(() => ReceivedAsync(s.Emulator, instance, "5511988887777"), r => r.Count == 1, "the phone to get it"))[0]
            .GetProperty("messageId").GetString()!;
        await Http.ExpectAsync(await s.Emulator.AckAsync("wppconnect", instance, providerId, "read"), HttpStatusCode.OK);
        var read = await s.Tenant.WaitForMessageAsync(id, "Read");
        Assert.Equal(providerId, read.GetProperty("message").GetProperty("providerMessageId").GetString());
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task TheSameIdempotencyKeyGivesTheSameMessageAndADifferentBodyIsRefused(string provider, string kind)
    {
        await using var s = await StartAsync();
        var (_, instance) = await s.Tenant.ConnectedSessionAsync(s.Emulator, provider, kind);
        var body = new { to = "+55 11 98888-7777", text = "Lembrete: consulta às 15h" };

        var first = await s.Tenant.SendAsync(body, "appointment-42-reminder");
        using var again = new HttpRequestMessage(HttpMethod.Post, "/api/v1/messages") { Content = JsonContent.Create(body) };
        again.Headers.Add("Idempotency-Key", "appointment-42-reminder");
        var replay = await s.Tenant.Owner.SendAsync(again);
        Assert.Equal(first, (await Http.JsonAsync(replay, HttpStatusCode.Accepted)).GetProperty("id").GetGuid());
        Assert.Equal("true", replay.Headers.GetValues("Idempotent-Replayed").Single());

        using var different = new HttpRequestMessage(HttpMethod.Post, "/api/v1/messages") { Content = JsonContent.Create(new { to = "+55 11 98888-7777", text = "outro texto" }) };
        different.Headers.Add("Idempotency-Key", "appointment-42-reminder");
        var conflict = await Http.JsonAsync(await s.Tenant.Owner.SendAsync(different), HttpStatusCode.Conflict);
        Assert.Equal("idempotency_key_reused", conflict.GetProperty("code").GetString());

        await s.Tenant.WaitForMessageAsync(first, "Sent");
        await Task.Delay(300);
        Assert.Single(await ReceivedAsync(s.Emulator, instance, "5511988887777"));
        Assert.Single((await s.Tenant.Owner.GetFromJsonAsync<JsonElement>("/api/v1/messages")).EnumerateArray());
    }

    [Fact]
    public async Task ABatchAcceptsOrRefusesEachMessageOnItsOwnAndSendsEveryAcceptedOneOnce()
    {
        await using var s = await StartAsync();
        var (session, instance) = await s.Tenant.ConnectedSessionAsync(s.Emulator, "evolution", "Evolution");
        var other = await s.App.CreateTenantAsync("outra-clinica");
        var othersNumber = (await other.CreateSessionAsync()).GetProperty("id").GetGuid();
        await Http.ExpectAsync(await s.Tenant.Owner.PostAsJsonAsync("/api/v1/contacts", new { phone = "(11) 97777-6666", optedOut = true }), HttpStatusCode.Created);

        object[] messages =
        [
            new { to = "(11) 98888-0001", text = "Consulta amanhã às 9h", idempotencyKey = "campanha-1" },
            new { to = "12345", text = "número errado" },
            new { to = "(11) 97777-6666", text = "50% de desconto!", @class = "marketing" },
            new { to = "(11) 98888-0002", text = "Consulta amanhã às 10h", route = "session", sessionId = session },
            new { to = "(11) 98888-0001", text = "Consulta amanhã às 9h", idempotencyKey = "campanha-1" },
            new { to = "(11) 98888-0001", text = "outro texto", idempotencyKey = "campanha-1" },
            new { to = "(11) 98888-0003", text = "pelo número de outro cliente", route = "session", sessionId = othersNumber },
            null!,
        ];
        var batch = await Http.JsonAsync(await s.Tenant.Owner.PostAsJsonAsync("/api/v1/messages/batch", new { messages }), HttpStatusCode.OK);
        var results = batch.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal((3, 5), (batch.GetProperty("accepted").GetInt32(), batch.GetProperty("rejected").GetInt32()));
        Assert.Equal(Enumerable.Range(0, messages.Length), results.Select(r => r.GetProperty("index").GetInt32()));
        Assert.Equal([202, 400, 422, 202, 202, 409, 400, 400], results.Select(r => r.GetProperty("status").GetInt32()));
        Assert.Equal("to", results[1].GetProperty("field").GetString());
        Assert.Equal("recipient_opted_out", results[2].GetProperty("code").GetString());
        Assert.Equal("idempotency_key_reused", results[5].GetProperty("code").GetString());
        Assert.Equal("session_unknown", results[6].GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(results[7].GetProperty("title").GetString()));
        var first = results[0].GetProperty("message").GetProperty("id").GetGuid();
        Assert.Equal(first, results[4].GetProperty("message").GetProperty("id").GetGuid());
        Assert.True(results[4].GetProperty("replayed").GetBoolean());

        // The client retries the whole batch: the keyed message is not sent twice.
        var retry = await Http.JsonAsync(await s.Tenant.Owner.PostAsJsonAsync("/api/v1/messages/batch", new { messages = messages.Take(1) }), HttpStatusCode.OK);
        Assert.Equal(first, retry.GetProperty("results")[0].GetProperty("message").GetProperty("id").GetGuid());

        await s.Tenant.WaitForMessageAsync(first, "Sent");
        await s.Tenant.WaitForMessageAsync(results[3].GetProperty("message").GetProperty("id").GetGuid(), "Sent");
        await Task.Delay(300);
        Assert.Single(await ReceivedAsync(s.Emulator, instance, "5511988880001"));
        Assert.Single(await ReceivedAsync(s.Emulator, instance, "5511988880002"));
        Assert.Equal(2, (await s.Emulator.MessagesAsync(instance)).Count);
        Assert.Equal(2, (await s.Tenant.Owner.GetFromJsonAsync<JsonElement>("/api/v1/messages")).GetArrayLength());

        var empty = await Http.JsonAsync(await s.Tenant.Owner.PostAsJsonAsync("/api/v1/messages/batch", new { messages = Array.Empty<object>() }), HttpStatusCode.BadRequest);
        Assert.Equal("batch_empty", empty.GetProperty("code").GetString());
        var tooMany = Enumerable.Range(0, 1001).Select(i => new { to = "(11) 98888-0001", text = $"n{i}" });
        var large = await Http.JsonAsync(await s.Tenant.Owner.PostAsJsonAsync("/api/v1/messages/batch", new { messages = tooMany }), HttpStatusCode.BadRequest);
        Assert.Equal("batch_large", large.GetProperty("code").GetString());
        Assert.Equal(2, (await s.Tenant.Owner.GetFromJsonAsync<JsonElement>("/api/v1/messages")).GetArrayLength());
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task AScheduledMessageWaitsForItsTimeAndACanceledOneNeverGoes(string provider, string kind)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var s = await StartAsync(clock);
        var (_, instance) = await s.Tenant.ConnectedSessionAsync(s.Emulator, provider, kind);
        var at = clock.GetUtcNow().AddHours(2);

        var scheduled = await s.Tenant.SendAsync(new { to = "11988887777", text = "Amanhã é seu dia!", sendAt = at });
        var canceled = await s.Tenant.SendAsync(new { to = "11977776666", text = "não vai", sendAt = at });
        Assert.Equal("Scheduled", Status(await s.Tenant.MessageAsync(scheduled)));
        var cancel = await Http.JsonAsync(await s.Tenant.Owner.PostAsync($"/api/v1/messages/{canceled}/cancel", null), HttpStatusCode.OK);
        Assert.Equal("Canceled", cancel.GetProperty("status").GetString());

        await Task.Delay(1500);
        Assert.Empty(await s.Emulator.MessagesAsync(instance));
        clock.Advance(TimeSpan.FromHours(1));
        await Task.Delay(800);
        Assert.Equal("Scheduled", Status(await s.Tenant.MessageAsync(scheduled)));

        clock.Advance(TimeSpan.FromHours(1));
        await s.Tenant.WaitForMessageAsync(scheduled, "Sent");
        var sent = Assert.Single(await s.Emulator.MessagesAsync(instance));
        Assert.Equal("5511988887777", sent.GetProperty("to").GetString());
        Assert.Equal("Canceled", Status(await s.Tenant.MessageAsync(canceled)));
        var late = await Http.JsonAsync(await s.Tenant.Owner.PostAsync($"/api/v1/messages/{scheduled}/cancel", null), HttpStatusCode.Conflict);
        Assert.Equal("message_not_cancelable", late.GetProperty("code").GetString());
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task TransientFailuresRetryWithBackoffAndPermanentOnesFailWithAReason(string provider, string kind)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var s = await StartAsync(clock);
        var (_, instance) = await s.Tenant.ConnectedSessionAsync(s.Emulator, provider, kind);

        await Http.ExpectAsync(await s.Emulator.FaultsAsync(new { failNext = 2 }), HttpStatusCode.OK);
        var id = await s.Tenant.SendAsync(new { to = "11988887777", text = "tenta de novo" });
        var waiting = await Eventually.WaitAsync(() => s.Tenant.MessageAsync(id),
            m => m.GetProperty("message").GetProperty("attempts").GetInt32() == 1 && Status(m) == "Queued", "the first attempt to fail");
        Assert.Equal("gateway_unavailable", waiting.GetProperty("message").GetProperty("failureCategory").GetString());
        Assert.Empty(await s.Emulator.MessagesAsync(instance));

        // Backoff: ~10 s after the first failure (±20%), ~20 s after the second.
        clock.Advance(TimeSpan.FromSeconds(13));
        await Eventually.WaitAsync(() => s.Tenant.MessageAsync(id), m => m.GetProperty("message").GetProperty("attempts").GetInt32() == 2 && Status(m) == "Queued", "the second attempt");
        clock.Advance(TimeSpan.FromSeconds(25));
        var sent = await s.Tenant.WaitForMessageAsync(id, "Sent");
        Assert.Equal(3, sent.GetProperty("message").GetProperty("attempts").GetInt32());
        Assert.Single(await s.Emulator.MessagesAsync(instance));
        var attempts = sent.GetProperty("timeline").EnumerateArray().Where(e => e.TryGetProperty("attempt", out var a) && a.ValueKind == JsonValueKind.Number).ToList();
        Assert.Equal(3, attempts.Count);

        // A number that is not on WhatsApp fails at once, with a reason a person can read.
        var bad = await s.Tenant.SendAsync(new { to = "(11) 93000-0000", text = "x" });
        var failed = await s.Tenant.WaitForMessageAsync(bad, "Failed");
        Assert.Equal(1, failed.GetProperty("message").GetProperty("attempts").GetInt32());
        Assert.Equal("invalid_number", failed.GetProperty("message").GetProperty("failureCategory").GetString());
        Assert.Contains("not on WhatsApp", failed.GetProperty("message").GetProperty("statusReason").GetString());
        // Stored as a note: the API says it in English beside a stable code; the dashboard reads it in each reader's language.
        Assert.Equal("send_failed", failed.GetProperty("message").GetProperty("statusReasonCode").GetString());
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task TheDailyLimitCountsInTheSaoPauloDayAndResetsAtItsMidnight(string provider, string kind)
    {
        var clock = ClockAtSaoPaulo(23, 50);
        await using var s = await StartAsync(clock);
        var (session, instance) = await s.Tenant.ConnectedSessionAsync(s.Emulator, provider, kind);
        await Http.ExpectAsync(await s.Tenant.Owner.PatchAsJsonAsync($"/api/v1/sessions/{session}", new { dailyLimit = 2 }), HttpStatusCode.OK);

        var ids = new List<Guid>();
        for (var i = 1; i <= 3; i++) ids.Add(await s.Tenant.SendAsync(new { to = "11988887777", text = $"lembrete {i}" }));
        await s.Tenant.WaitForMessageAsync(ids[0], "Sent");
        await s.Tenant.WaitForMessageAsync(ids[1], "Sent");
        var third = await Eventually.WaitAsync(() => s.Tenant.MessageAsync(ids[2]),
            m => m.GetProperty("message").GetProperty("statusReason").GetString() == "daily_limit", "the third message to wait for tomorrow");
        Assert.Equal("Queued", Status(third));
        Assert.Contains(third.GetProperty("timeline").EnumerateArray(), e => e.GetProperty("detail").GetString()!.Contains("daily limit"));
        Assert.Equal(2, (await s.Tenant.SessionAsync(session)).GetProperty("sentToday").GetInt32());

        // 23:59 in São Paulo is already the next day in UTC: still today for the limit.
        clock.Advance(TimeSpan.FromMinutes(9));
        await Task.Delay(1000);
        Assert.Equal(2, (await s.Emulator.MessagesAsync(instance)).Count);

        clock.Advance(TimeSpan.FromMinutes(2));
        await s.Tenant.WaitForMessageAsync(ids[2], "Sent");
        Assert.Equal(1, (await s.Tenant.SessionAsync(session)).GetProperty("sentToday").GetInt32());
        Assert.Equal(3, (await s.Emulator.MessagesAsync(instance)).Count);
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task NothingGoesOutDuringQuietHoursAndWarmUpLimitsANewNumber(string provider, string kind)
    {
        var clock = ClockAtSaoPaulo(21, 30);
        await using var s = await StartAsync(clock);
        var (session, instance) = await s.Tenant.ConnectedSessionAsync(s.Emulator, provider, kind);
        await s.Tenant.SettingsAsync(x => (x["quietFrom"], x["quietUntil"], x["warmupDays"], x["warmupFirstDayLimit"]) = ("21:00", "08:00", 7, 1));

        var first = await s.Tenant.SendAsync(new { to = "11988887777", text = "promoção" });
        var waiting = await Eventually.WaitAsync(() => s.Tenant.MessageAsync(first),
            m => m.GetProperty("message").GetProperty("statusReason").GetString() == "quiet_hours", "the message to wait for the morning");
        Assert.Contains(waiting.GetProperty("timeline").EnumerateArray(), e => e.GetProperty("detail").GetString() == "waiting: quiet hours until 08:00");

        clock.Advance(TimeSpan.FromHours(10) + TimeSpan.FromMinutes(31)); // 08:01 next day
        await s.Tenant.WaitForMessageAsync(first, "Sent");

        // Linked yesterday (day 0 allowed 1): day 1 of warm-up allows 2, so the third message of the day waits for day 2.
        var second = await s.Tenant.SendAsync(new { to = "11988887777", text = "segunda" });
        await s.Tenant.WaitForMessageAsync(second, "Sent");
        var third = await s.Tenant.SendAsync(new { to = "11988887777", text = "terceira" });
        await Eventually.WaitAsync(() => s.Tenant.MessageAsync(third),
            m => m.GetProperty("message").GetProperty("statusReason").GetString() == "daily_limit", "warm-up to hold the third message");
        Assert.Equal(2, (await s.Emulator.MessagesAsync(instance)).Count);
        clock.Advance(TimeSpan.FromHours(24)); // 08:01 the next day (after quiet hours): day 2 of warm-up
        await s.Tenant.WaitForMessageAsync(third, "Sent");
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task WhenTheNumberIsDownMessagesWaitThenFailOverOrExpireByPolicy(string provider, string kind)
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var s = await StartAsync(clock);
        var (primary, primaryInstance) = await s.Tenant.ConnectedSessionAsync(s.Emulator, provider, kind, "Recepção", "5511999990001");
        var (_, backupInstance) = await s.Tenant.ConnectedSessionAsync(s.Emulator, provider, kind, "Caixa", "5511999990002");
        await Http.ExpectAsync(await s.Emulator.UnlinkAsync(provider, primaryInstance), HttpStatusCode.OK);
        await s.Tenant.WaitForStateAsync(primary, "Disconnected");

        // Failover off: the message waits for its number, with a status that says why.
        var held = await s.Tenant.SendAsync(new { to = "11988887777", text = "confirmação" });
        var waiting = await s.Tenant.WaitForMessageAsync(held, "Held");
        Assert.Equal("session_disconnected", waiting.GetProperty("message").GetProperty("statusReason").GetString());
        Assert.Equal(primary, waiting.GetProperty("message").GetProperty("sessionId").GetGuid());

        // It waits no longer than the tenant allows.
        clock.Advance(TimeSpan.FromMinutes(61));
        var expired = await s.Tenant.WaitForMessageAsync(held, "Failed");
        Assert.Equal("expired", expired.GetProperty("message").GetProperty("failureCategory").GetString());

        // Failover on: another connected number of the tenant takes it.
        await s.Tenant.SettingsAsync(x => x["failoverToOtherNumbers"] = true);
        var moved = await s.Tenant.SendAsync(new { to = "11988887777", text = "confirmação 2" });
        var sent = await s.Tenant.WaitForMessageAsync(moved, "Sent");
        Assert.NotEqual(primary, sent.GetProperty("message").GetProperty("sessionId").GetGuid());
        Assert.Contains(sent.GetProperty("timeline").EnumerateArray(), e => e.GetProperty("detail").GetString()!.StartsWith("moved to Caixa"));
        Assert.Single(await s.Emulator.MessagesAsync(backupInstance));
        Assert.Empty(await s.Emulator.MessagesAsync(primaryInstance));

        // Without failover, a held message goes as soon as its own number reconnects.
        await s.Tenant.SettingsAsync();
        var later = await s.Tenant.SendAsync(new { to = "11977776666", text = "quando voltar" });
        await s.Tenant.WaitForMessageAsync(later, "Held");
        await Http.ExpectAsync(await s.Tenant.Owner.PostAsJsonAsync($"/api/v1/sessions/{primary}/connect", new { }), HttpStatusCode.Accepted);
        await s.Tenant.WaitForStateAsync(primary, "AwaitingScan");
        await Http.ExpectAsync(await s.Emulator.ScanAsync(provider, primaryInstance, "5511999990001"), HttpStatusCode.OK);
        await s.Tenant.WaitForMessageAsync(later, "Sent");
        Assert.Single(await s.Emulator.MessagesAsync(primaryInstance));
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task InboundMessagesAreStoredWithTheirContactAndAnOptOutStopsMarketingOnly(string provider, string kind)
    {
        await using var s = await StartAsync();
        var (session, instance) = await s.Tenant.ConnectedSessionAsync(s.Emulator, provider, kind);

        await Http.ExpectAsync(await s.Emulator.InboundAsync(provider, instance, "5511977776666", "Oi, queria remarcar", "Maria Souza"), HttpStatusCode.OK);
        var inbound = await Eventually.WaitAsync(async () => (await s.Tenant.Owner.GetFromJsonAsync<JsonElement>("/api/v1/messages?direction=Inbound")).EnumerateArray().ToList(),
            l => l.Count == 1, "the inbound message");
        Assert.Equal("+5511977776666", inbound[0].GetProperty("peer").GetString());
        Assert.Equal("Oi, queria remarcar", inbound[0].GetProperty("text").GetString());
        Assert.Equal("Maria Souza", inbound[0].GetProperty("peerName").GetString());
        Assert.Equal(session, inbound[0].GetProperty("sessionId").GetGuid());

        await Http.ExpectAsync(await s.Emulator.InboundAsync(provider, instance, "5511977776666", "Sair!", "Maria Souza"), HttpStatusCode.OK);
        var contact = await Eventually.WaitAsync(async () => (await s.Tenant.Owner.GetFromJsonAsync<JsonElement>("/api/v1/contacts")).EnumerateArray().Single(),
            c => c.GetProperty("optedOut").GetBoolean(), "the contact to be opted out");
        Assert.Equal("Maria Souza", contact.GetProperty("name").GetString());

        var refused = await Http.JsonAsync(await s.Tenant.Owner.PostAsJsonAsync("/api/v1/messages",
            new { to = "(11) 97777-6666", text = "50% de desconto!", @class = "marketing" }), HttpStatusCode.UnprocessableEntity);
        Assert.Equal("recipient_opted_out", refused.GetProperty("code").GetString());
        var reminder = await s.Tenant.SendAsync(new { to = "(11) 97777-6666", text = "Sua consulta é amanhã às 9h", @class = "transactional" });
        await s.Tenant.WaitForMessageAsync(reminder, "Sent");

        var conversation = await s.Tenant.Owner.GetFromJsonAsync<JsonElement>($"/api/v1/contacts/{contact.GetProperty("id").GetGuid()}/messages");
        Assert.Equal(["Inbound", "Inbound", "Outbound"], conversation.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("direction").GetString()));
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task TemplatesAreCheckedOnSaveAndOnSendAndFillTheText(string provider, string kind)
    {
        await using var s = await StartAsync();
        var (_, instance) = await s.Tenant.ConnectedSessionAsync(s.Emulator, provider, kind);

        var broken = await Http.JsonAsync(await s.Tenant.Owner.PostAsJsonAsync("/api/v1/templates", new { name = "confirmacao", body = "Olá {{nome}, até {{data}}" }), HttpStatusCode.BadRequest);
        Assert.True(broken.GetProperty("errors").TryGetProperty("body", out _));
        var created = await Http.JsonAsync(await s.Tenant.Owner.PostAsJsonAsync("/api/v1/templates",
            new { name = "confirmacao", body = "Olá {{nome}}, sua consulta é {{data}} às {{hora}}." }), HttpStatusCode.Created);
        Assert.Equal(["nome", "data", "hora"], created.GetProperty("variables").EnumerateArray().Select(v => v.GetString()));
        await Http.ExpectAsync(await s.Tenant.Owner.PostAsJsonAsync("/api/v1/templates", new { name = "confirmacao", body = "x" }), HttpStatusCode.Conflict);

        var missing = await Http.JsonAsync(await s.Tenant.Owner.PostAsJsonAsync("/api/v1/messages",
            new { to = "11988887777", template = new { name = "confirmacao", variables = new { nome = "Ana", data = "12/12" } } }), HttpStatusCode.BadRequest);
        Assert.True(missing.GetProperty("errors").TryGetProperty("variables.hora", out _), missing.ToString());

        var id = await s.Tenant.SendAsync(new { to = "11988887777", template = new { name = "confirmacao", variables = new { nome = "Ana", data = "12/12", hora = "14h" } } });
        await s.Tenant.WaitForMessageAsync(id, "Sent");
        Assert.Equal("Olá Ana, sua consulta é 12/12 às 14h.", Assert.Single(await s.Emulator.MessagesAsync(instance)).GetProperty("text").GetString());
        Assert.Equal("confirmacao", (await s.Tenant.MessageAsync(id)).GetProperty("message").GetProperty("templateName").GetString());
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task MediaGoesByUrlOrByUploadedFile(string provider, string kind)
    {
        await using var s = await StartAsync();
        var (_, instance) = await s.Tenant.ConnectedSessionAsync(s.Emulator, provider, kind);

        using var form = new MultipartFormDataContent();
        var pdf = new ByteArrayContent("%PDF-1.4 recibo"u8.ToArray());
        pdf.Headers.ContentType = new("application/pdf");
        form.Add(pdf, "file", "recibo.pdf");
        var file = await Http.JsonAsync(await s.Tenant.Owner.PostAsync("/api/v1/media", form), HttpStatusCode.Created);
        Assert.Equal("recibo.pdf", file.GetProperty("fileName").GetString());

        var byFile = await s.Tenant.SendAsync(new { to = "11988887777", text = "Seu recibo", media = new { type = "document", fileId = file.GetProperty("id").GetGuid() } });
        var byUrl = await s.Tenant.SendAsync(new { to = "11988887777", text = "Nosso cardápio", media = new { type = "image", url = "https://example.com/cardapio.jpg" } });
        await s.Tenant.WaitForMessageAsync(byFile, "Sent");
        await s.Tenant.WaitForMessageAsync(byUrl, "Sent");
        var received = await s.Emulator.MessagesAsync(instance);
        Assert.Equal(2, received.Count);
        Assert.All(received, m => Assert.NotNull(m.GetProperty("mediaType").GetString()));
        Assert.Equal(["Seu recibo", "Nosso cardápio"], received.Select(m => m.GetProperty("text").GetString()).Order().Reverse());

        var bad = await Http.JsonAsync(await s.Tenant.Owner.PostAsJsonAsync("/api/v1/messages", new { to = "11988887777", media = new { type = "sticker", url = "https://x.test/a.webp" } }), HttpStatusCode.BadRequest);
        Assert.True(bad.GetProperty("errors").TryGetProperty("media.type", out _));
    }

    [Fact]
    public async Task BadRequestsGetAClearErrorAndStoreNothing()
    {
        await using var s = await StartAsync();
        await s.Tenant.ConnectedSessionAsync(s.Emulator, "evolution", "Evolution");
        (object Body, string Field)[] cases =
        [
            (new { to = "12345", text = "x" }, "to"),
            (new { to = "11988887777" }, "text"),
            (new { to = "11988887777", text = new string('a', 5000) }, "text"),
            (new { to = "11988887777", template = new { name = "nao-existe" } }, "template.name"),
            (new { to = "11988887777", text = "x", route = "session" }, "sessionId"),
            (new { to = "11988887777", text = "x", @class = "spam" }, "class"),
            (new { to = "11988887777", text = "x", sendAt = DateTimeOffset.UtcNow.AddYears(1) }, "sendAt"),
        ];
        foreach (var (body, field) in cases)
        {
            var problem = await Http.JsonAsync(await s.Tenant.Owner.PostAsJsonAsync("/api/v1/messages", body), HttpStatusCode.BadRequest);
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"{JsonSerializer.Serialize(body)} → {problem}");
        }
        await Http.ExpectAsync(await s.Tenant.Owner.PostAsync("/api/v1/messages", new StringContent("{not json", System.Text.Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);
        Assert.Empty((await s.Tenant.Owner.GetFromJsonAsync<JsonElement>("/api/v1/messages")).EnumerateArray());
    }

    [Fact]
    public async Task PacingKeepsTheGapBetweenTwoSendsOfOneNumber()
    {
        await using var s = await StartAsync();
        var (_, instance) = await s.Tenant.ConnectedSessionAsync(s.Emulator, "evolution", "Evolution");
        await s.Tenant.SettingsAsync(x => (x["minGapMs"], x["jitterMs"]) = (400, 200));
        var ids = new List<Guid>();
        for (var i = 0; i < 5; i++) ids.Add(await s.Tenant.SendAsync(new { to = "11988887777", text = $"msg {i}" }));
        foreach (var id in ids) await s.Tenant.WaitForMessageAsync(id, "Sent");
        var times = (await s.Emulator.MessagesAsync(instance)).Select(m => m.GetProperty("at").GetDateTimeOffset()).Order().ToList();
        Assert.Equal(5, times.Count);
        for (var i = 1; i < times.Count; i++) Assert.True(times[i] - times[i - 1] >= TimeSpan.FromMilliseconds(400), $"sends {i - 1} and {i} were {(times[i] - times[i - 1]).TotalMilliseconds} ms apart");
    }
}
