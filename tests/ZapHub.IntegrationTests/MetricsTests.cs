using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using ZapHub.Data;
using ZapHub.Features.Tenancy;
using ZapHub.IntegrationTests.Infrastructure;

namespace ZapHub.IntegrationTests;

/// <summary>
/// Meters are process-wide: a scrape would also see the instruments of other ZapHub instances running in this test
/// process. This collection runs alone.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MetricsCollection
{
    public const string Name = "metrics";
}

/// <summary>
/// What an operator's Prometheus sees after a number's life — connected, a message sent and read, one to a number not
/// on WhatsApp, a reply received, events delivered to the tenant's system with one refusal — each figure compared
/// with what really happened.
/// </summary>
[Collection(MetricsCollection.Name)]
public partial class MetricsTests
{
    [Fact]
    public async Task AScrapeAfterANumbersLifeCountsWhatHappened()
    {
        await using var emulator = await EmulatorHost.StartAsync();
        await using var receiver = await SignedReceiver.StartAsync();
        await using var app = new ZapHubApp().With("Webhooks:AllowPrivateTargets", "true").With("Webhooks:PollInterval", "00:00:00.100")
            .With("Metrics:GaugeMaxAge", "00:00:00");
        app.ServeOverKestrel();
        var (evolution, _) = await app.RegisterEmulatorAsync(emulator);
        var tenant = await app.CreateTenantAsync();
        var (_, tenantKey) = await tenant.CreateApiKeyAsync([.. ApiScopes.All]);
        await tenant.SettingsAsync();
        var (_, secret) = await tenant.CreateWebhookAsync(receiver.Url);
        receiver.Secrets.Add(secret);
        var refused = 0;
        receiver.Answer = _ => Interlocked.Increment(ref refused) == 1 ? 503 : 200;

        // Unauthenticated, a tenant's key, or a platform key without the scope: refused.
        Assert.Equal(HttpStatusCode.Unauthorized, (await app.Anonymous().GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await app.WithApiKey(tenantKey).GetAsync("/metrics")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await app.WithPlatformKey(await app.CreatePlatformKeyAsync("tenants:manage")).GetAsync("/metrics")).StatusCode);
        var scraper = app.WithPlatformKey(await app.CreatePlatformKeyAsync("metrics:read"));

        var (sessionId, instance) = await tenant.ConnectedSessionAsync(emulator, "evolution", "Evolution");
        await Http.ExpectAsync(await tenant.Owner.PatchAsJsonAsync($"/api/v1/sessions/{sessionId}", new { dailyLimit = 10 }), HttpStatusCode.OK);
        var good = await tenant.SendAsync(new { to = "11988887777", text = "Seu horário é amanhã às 10h", sessionId });
        var providerId = (await tenant.WaitForMessageAsync(good, "Sent")).GetProperty("message").GetProperty("providerMessageId").GetString()!;
        await Http.ExpectAsync(await emulator.AckAsync("evolution", instance, providerId, "delivered"), HttpStatusCode.OK);
        await Http.ExpectAsync(await emulator.AckAsync("evolution", instance, providerId, "read"), HttpStatusCode.OK);
        await tenant.WaitForMessageAsync(good, "Read");
        var bad = await tenant.SendAsync(new { to = "(11) 93000-0000", text = "x", sessionId });
        await tenant.WaitForMessageAsync(bad, "Failed");
        await Http.ExpectAsync(await emulator.InboundAsync("evolution", instance, "5511988887777", "Confirmado!", "Maria"), HttpStatusCode.OK);
        await Eventually.WaitAsync(() => InboundCountAsync(app), n => n == 1, "the reply to be stored");

        // An event-stream client stays connected while the scrape is taken.
        using var streamClient = app.WithApiKey(tenantKey);
        using var stream = await streamClient.GetAsync("/api/v1/events/stream", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);

        // Everything delivered (the refused attempt retried after its 5 s) and every gateway event processed.
        var scrape = await Eventually.WaitAsync(async () => await ScrapeAsync(scraper),
            m => m.Value("zaphub_webhooks_backlog") == 0 && m.Value("zaphub_inbox_depth") == 0 && m.Value("zaphub_webhooks_deliveries_total", ("outcome", "http_5xx")) == 1,
            "deliveries and gateway events to drain", TimeSpan.FromSeconds(60));

        var gateways = await Http.JsonAsync(await (await app.OperatorAsync()).GetAsync("/api/v1/admin/gateways"), HttpStatusCode.OK);
        var gateway = gateways.EnumerateArray().Single(g => g.GetProperty("id").GetGuid() == evolution).GetProperty("name").GetString()!;
        Assert.Equal(1, scrape.Value("zaphub_numbers", ("state", "Connected"), ("gateway", gateway), ("provider", "Evolution")));
        Assert.Equal(1, scrape.Value("zaphub_gateway_up", ("gateway", gateway)));

        // Gateway calls by operation and outcome, with their latency.
        Assert.Equal(1, scrape.Value("zaphub_gateway_calls_total", ("provider", "Evolution"), ("operation", "send"), ("outcome", "ok")));
        Assert.Equal(1, scrape.Value("zaphub_gateway_calls_total", ("provider", "Evolution"), ("operation", "send"), ("outcome", "invalid_number")));
        Assert.True(scrape.Value("zaphub_gateway_calls_total", ("operation", "provision"), ("outcome", "ok")) >= 1);
        Assert.Equal(2, scrape.Value("zaphub_gateway_call_duration_seconds_count", ("operation", "send")));

        // Gateway webhooks: every stored one is a row of the inbox.
        var stored = await GatewayEventsAsync(app);
        Assert.True(stored >= 5, $"connection, QR, two receipts and a reply were stored ({stored})");
        Assert.Equal(stored, scrape.Value("zaphub_gateway_webhooks_total", ("provider", "Evolution"), ("outcome", "stored")));

        // Messages: accepted, attempts by outcome and category, receipts and replies.
        Assert.Equal(2, scrape.Value("zaphub_messages_accepted_total"));
        Assert.Equal(1, scrape.Value("zaphub_messages_send_attempts_total", ("outcome", "sent")));
        Assert.Equal(1, scrape.Value("zaphub_messages_send_attempts_total", ("outcome", "failed"), ("category", "invalid_number")));
        Assert.Equal(1, scrape.Value("zaphub_messages_status_changes_total", ("status", "Delivered")));
        Assert.Equal(1, scrape.Value("zaphub_messages_status_changes_total", ("status", "Read")));
        Assert.Equal(1, scrape.Value("zaphub_messages_status_changes_total", ("status", "Received")));
        Assert.Equal(0, scrape.Value("zaphub_outbox_depth"));
        // One message went out today (the one to a number not on WhatsApp does not count): a tenth of the number's limit.
        Assert.Equal(1, scrape.Value("zaphub_messages_sent_today"));
        Assert.Equal(1, scrape.Value("zaphub_numbers_daily_limit_use", ("band", "under_50")));

        // Deliveries to the tenant's system: what the receiver answered, attempt by attempt.
        var answered = receiver.Hits.ToList();
        Assert.Equal(answered.Count(h => h.Answered is >= 200 and < 300), scrape.Value("zaphub_webhooks_deliveries_total", ("outcome", "delivered")));
        Assert.Equal(answered.Count, scrape.Value("zaphub_webhooks_delivery_duration_seconds_count"));

        Assert.Equal(1, scrape.Value("zaphub_events_stream_clients"));
        Assert.True(scrape.Value("zaphub_reconciler_cycle_duration_seconds_count") >= 1);
        // The platform's own instrumentation: ASP.NET Core, HttpClient (the gateway calls), the runtime.
        Assert.True(scrape.Has("http_server_request_duration_seconds_count"));
        Assert.True(scrape.Value("http_client_request_duration_seconds_count") >= 2);
        Assert.Contains(scrape.Samples, s => s.Name.StartsWith("dotnet_gc_", StringComparison.Ordinal));

        // The shipped dashboard and alert rules read only series ZapHub really exports.
        var scraped = scrape.Samples.Select(s => s.Name).ToHashSet();
        foreach (var file in new[] { "deploy/grafana/zaphub-dashboard.json", "deploy/prometheus/alerts.yml" })
            foreach (var name in MetricName().Matches(await File.ReadAllTextAsync(Path.Combine(ZapHubProcess.RepositoryRoot(), file))).Select(m => m.Value).Distinct())
                Assert.True(scraped.Contains(name), $"{file} reads {name}, which the scrape does not have");
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"\b(zaphub|dotnet|http_server)_[a-z0-9_]+")]
    private static partial System.Text.RegularExpressions.Regex MetricName();

    private static async Task<PrometheusText> ScrapeAsync(HttpClient scraper)
    {
        var response = await scraper.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return PrometheusText.Parse(await response.Content.ReadAsStringAsync());
    }

    private static async Task<int> GatewayEventsAsync(ZapHubApp app)
    {
        using var scope = app.Services.CreateScope();
        scope.ServiceProvider.GetRequiredService<TenantContext>().UseWorkerScope();
        return await scope.ServiceProvider.GetRequiredService<ZapHubDb>().GatewayEvents.IgnoreQueryFilters([ZapHubDb.TenantFilter]).CountAsync();
    }

    private static async Task<int> InboundCountAsync(ZapHubApp app)
    {
        using var scope = app.Services.CreateScope();
        scope.ServiceProvider.GetRequiredService<TenantContext>().UseWorkerScope();
        return await scope.ServiceProvider.GetRequiredService<ZapHubDb>().Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter])
            .CountAsync(m => m.Direction == Features.Messages.MessageDirection.Inbound);
    }
}
