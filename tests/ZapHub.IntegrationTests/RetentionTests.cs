using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using ZapHub.Data;
using ZapHub.Features.Events;
using ZapHub.Features.Messages;
using ZapHub.Features.Retention;
using ZapHub.Features.Tenancy;
using ZapHub.IntegrationTests.Infrastructure;

namespace ZapHub.IntegrationTests;

/// <summary>
/// Three weeks of a tenant's traffic on a test clock, then a sweep with ten-day windows: every row older than its
/// window is gone — messages and their timelines, the conversation's received messages, number timelines, processed
/// gateway events, events out and their deliveries, audit — and every newer row, and every message still waiting,
/// is kept. Batches of two, so each table takes several.
/// </summary>
public class RetentionTests
{
    private static readonly TimeSpan Window = TimeSpan.FromDays(10);

    [Fact]
    public async Task ASweepRemovesEveryRowOlderThanItsWindowAndNothingElse()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var emulator = await EmulatorHost.StartAsync();
        await using var receiver = await SignedReceiver.StartAsync();
        var app = new ZapHubApp().UseClock(clock).With("Webhooks:AllowPrivateTargets", "true").With("Webhooks:PollInterval", "00:00:00.100")
            .With("Retention:Interval", "40.00:00:00").With("Retention:BatchSize", "2");
        foreach (var table in new[] { "Messages", "SessionEvents", "Audit", "GatewayEvents", "Events", "Deliveries" })
            app.With($"Retention:{table}", Window.ToString());
        await using var _ = app;
        app.ServeOverKestrel();
        await app.RegisterEmulatorAsync(emulator);
        var tenant = await app.CreateTenantAsync();
        var (_, key) = await tenant.CreateApiKeyAsync([.. ApiScopes.All]);
        tenant = tenant with { Owner = app.WithApiKey(key) };
        await tenant.SettingsAsync();
        var (_, secret) = await tenant.CreateWebhookAsync(receiver.Url);
        receiver.Secrets.Add(secret);

        // Three weeks ago: a number, messages sent and read, one to a number not on WhatsApp, replies, and one
        // scheduled far ahead that is still waiting when the sweep comes.
        var (session, instance) = await tenant.ConnectedSessionAsync(emulator, "evolution", "Evolution");
        var old = new List<Guid>();
        for (var i = 0; i < 12; i++) old.Add(await tenant.SendAsync(new { to = "11988887777", text = $"Lembrete {i}", sessionId = session }));
        foreach (var id in old) await tenant.WaitForMessageAsync(id, "Sent");
        var providerId = (await tenant.MessageAsync(old[0])).GetProperty("message").GetProperty("providerMessageId").GetString()!;
        await Http.ExpectAsync(await emulator.AckAsync("evolution", instance, providerId, "read"), HttpStatusCode.OK);
        await tenant.WaitForMessageAsync(old[0], "Read");
        old.Add(await tenant.SendAsync(new { to = "(11) 93000-0000", text = "x", sessionId = session }));
        await tenant.WaitForMessageAsync(old[^1], "Failed");
        for (var i = 0; i < 3; i++) await Http.ExpectAsync(await emulator.InboundAsync("evolution", instance, "5511988887777", $"Resposta {i}"), HttpStatusCode.OK);
        var waiting = await tenant.SendAsync(new { to = "11988887777", text = "Feliz aniversário!", sendAt = clock.GetUtcNow().AddDays(40) });
        await SettledAsync(app);

        clock.Advance(TimeSpan.FromDays(21));

        // Now: a second number, a message and a reply, the sending rules changed (audited).
        var (recent, recentInstance) = await tenant.ConnectedSessionAsync(emulator, "evolution", "Evolution", "Caixa", "5511999990002");
        var kept = await tenant.SendAsync(new { to = "11977776666", text = "Seu pedido saiu", sessionId = recent });
        await tenant.WaitForMessageAsync(kept, "Sent");
        await Http.ExpectAsync(await emulator.InboundAsync("evolution", recentInstance, "5511977776666", "Obrigado!"), HttpStatusCode.OK);
        await tenant.SettingsAsync(s => s["holdMinutes"] = 30);
        await SettledAsync(app);

        var cutoff = clock.GetUtcNow().UtcDateTime - Window;
        var before = await CountAsync(app, cutoff);
        foreach (var (table, (older, newer)) in before)
        {
            Assert.True(older > 2, $"{table}: the test made {older} old rows, not more than a batch");
            Assert.True(newer > 0, $"{table}: the test made no recent rows");
        }

        var removed = await app.Services.GetRequiredService<RetentionSweeper>().SweepAsync(CancellationToken.None);

        var after = await CountAsync(app, cutoff);
        foreach (var (table, (older, newer)) in before)
        {
            Assert.Equal((0, newer), after[table]);
            // A message's timeline goes with it, in the same statement.
            if (table != "message_events") Assert.Equal(older, removed[table]);
        }
        // A message removed is gone from the API; its timeline went with it; the one still waiting stays.
        await Http.ExpectAsync(await tenant.Owner.GetAsync($"/api/v1/messages/{old[0]}"), HttpStatusCode.NotFound);
        Assert.Equal("Scheduled", (await tenant.MessageAsync(waiting)).GetProperty("message").GetProperty("status").GetString());
        Assert.Equal("Sent", (await tenant.MessageAsync(kept)).GetProperty("message").GetProperty("status").GetString());
        // The numbers themselves, and their current state, are not traffic.
        Assert.Equal("Connected", (await tenant.SessionAsync(session)).GetProperty("state").GetString());
    }

    /// <summary>Until the inbox is processed, events are sequenced and every delivery has ended.</summary>
    private static Task SettledAsync(ZapHubApp app) => Eventually.WaitAsync(async () =>
    {
        using var scope = WorkerDb(app, out var db);
        return await db.GatewayEvents.IgnoreQueryFilters().AnyAsync(e => e.ProcessedAt == null) || await db.Events.IgnoreQueryFilters().AnyAsync(e => e.Sequence == null)
            || await db.WebhookDeliveries.IgnoreQueryFilters().AnyAsync(d => d.Status == DeliveryStatus.Pending);
    }, busy => !busy, "the inbox, the relay and the deliveries to settle", TimeSpan.FromSeconds(60));

    /// <summary>Per table, rows older than the cutoff and rows from it on (finished messages only; waiting ones are counted apart).</summary>
    private static async Task<Dictionary<string, (int Older, int Newer)>> CountAsync(ZapHubApp app, DateTime cutoff)
    {
        using var scope = WorkerDb(app, out var db);
        MessageStatus[] open = [MessageStatus.Scheduled, MessageStatus.Queued, MessageStatus.Held, MessageStatus.Sending, MessageStatus.InDoubt];
        var finished = db.Messages.IgnoreQueryFilters().Where(m => !open.Contains(m.Status));
        var finishedIds = finished.Where(m => m.CreatedAt < cutoff).Select(m => m.Id);
        return new()
        {
            ["messages"] = (await finished.CountAsync(m => m.CreatedAt < cutoff), await finished.CountAsync(m => m.CreatedAt >= cutoff)),
            ["message_events"] = (await db.MessageEvents.IgnoreQueryFilters().CountAsync(e => finishedIds.Contains(e.MessageId)), await db.MessageEvents.IgnoreQueryFilters().CountAsync(e => !finishedIds.Contains(e.MessageId))),
            ["session_events"] = (await db.SessionEvents.IgnoreQueryFilters().CountAsync(e => e.At < cutoff), await db.SessionEvents.IgnoreQueryFilters().CountAsync(e => e.At >= cutoff)),
            ["gateway_events"] = (await db.GatewayEvents.IgnoreQueryFilters().CountAsync(e => e.ReceivedAt < cutoff), await db.GatewayEvents.IgnoreQueryFilters().CountAsync(e => e.ReceivedAt >= cutoff)),
            ["deliveries"] = (await db.WebhookDeliveries.IgnoreQueryFilters().CountAsync(d => d.CreatedAt < cutoff), await db.WebhookDeliveries.IgnoreQueryFilters().CountAsync(d => d.CreatedAt >= cutoff)),
            ["events"] = (await db.Events.IgnoreQueryFilters().CountAsync(e => e.OccurredAt < cutoff), await db.Events.IgnoreQueryFilters().CountAsync(e => e.OccurredAt >= cutoff)),
            ["audit"] = (await db.AuditEntries.IgnoreQueryFilters().CountAsync(a => a.At < cutoff), await db.AuditEntries.IgnoreQueryFilters().CountAsync(a => a.At >= cutoff)),
        };
    }

    private static IServiceScope WorkerDb(ZapHubApp app, out ZapHubDb db)
    {
        var scope = app.Services.CreateScope();
        scope.ServiceProvider.GetRequiredService<TenantContext>().UseWorkerScope();
        db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        return scope;
    }
}
