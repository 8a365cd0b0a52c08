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
        // The emulator posts the "sent" receipt while ZapHub still waits for the send call; delivery is then
        // acknowledged by the phone the moment the message shows up, racing ZapHub's own record of the send.
        await Http.ExpectAsync(await s.Emulator.FaultsAsync(new { latencyMs = 300 }), HttpStatusCode.OK);
        var id = await s.Tenant.SendAsync(new { to = "11988887777", text = "corrida" });
        var providerId = (await Eventually.WaitAsync(() => ReceivedAsync(s.Emulator, instance, "5511988887777"), r => r.Count == 1, "the phone to get it"))[0]
            .GetProperty("messageId").GetString()!;
        await Http.ExpectAsync(await s.Emulator.AckAsync("wppconnect", instance, providerId, "read"), HttpStatusCode.OK);
        var read = await s.Tenant.WaitForMessageAsync(id, "Read");
        Assert.Equal(providerId, read.GetProperty("message").GetProperty("providerMessageId").GetString());
    }

    [Fact]
    public async Task TheSameIdempotencyKeyGivesTheSameMessageAndADifferentBodyIsRefused()
    {
        await using var s = await StartAsync();
        var (_, instance) = await s.Tenant.ConnectedSessionAsync(s.Emulator, "evolution", "Evolution");
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
    public async Task AScheduledMessageWaitsForItsTimeAndACanceledOneNeverGoes()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var s = await StartAsync(clock);
        var (_, instance) = await s.Tenant.ConnectedSessionAsync(s.Emulator, "evolution", "Evolution");
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
    }
}
