using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using ZapHub.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace ZapHub.IntegrationTests;

/// <summary>
/// A cluster of three ZapHub processes on one PostgreSQL database loses one to SIGKILL while all of them ingest gateway
/// events, dispatch messages and deliver webhooks. Nothing is restarted: the two left take the dead node's work when its
/// leases run out. Every count is printed; any loss, and any duplicate outside "in doubt", fails the test.
/// </summary>
[Trait("Category", "PostgresOnly")]
[Collection(ProcessCollection.Name)]
public class NodeLossTests(ITestOutputHelper output)
{
    private static readonly TimeSpan WorkLease = TimeSpan.FromSeconds(6), RenewEvery = TimeSpan.FromSeconds(1);

    private static readonly (string, string)[] Settings =
    [
        ("Cluster:LeaseDuration", WorkLease.ToString()), ("Cluster:RenewInterval", RenewEvery.ToString()),
        ("Messages:LeaseDuration", "00:00:10"), ("Webhooks:Timeout", "00:00:05"), ("Webhooks:AllowPrivateTargets", "true"),
    ];

    private static object Pacing => new
    {
        minGapMs = 0, jitterMs = 0, typingDelayMs = 0, quietFrom = (string?)null, quietUntil = (string?)null, warmupDays = 0, warmupFirstDayLimit = 50,
        failoverToOtherNumbers = false, holdMinutes = 60, inDoubt = "Resend", maxAttempts = 6, optOutKeywords = new[] { "SAIR" },
    };

    [Fact]
    public async Task OneOfThreeNodesKilledUnderMixedLoadLosesNothingAndTheOthersTakeItsWorkWithinTheLease()
    {
        const int numbers = 6, messages = 900, inbound = 900;
        await using var emulator = await EmulatorHost.StartAsync();
        await using var sink = await WebhookSink.StartAsync();
        await using var database = TestDatabase.Create();
        await using var a = await ZapHubProcess.StartAsync(database, ZapHubProcess.FreePort(), Settings);
        var api = await a.SetUpTenantAsync(emulator, Pacing, "webhooks:manage");
        await Http.ExpectAsync(await api.PostAsJsonAsync("/api/v1/webhooks", new { url = sink.BaseAddress + "hooks" }), HttpStatusCode.Created);
        // Events are owed to the endpoint from the relay's first batch after it exists: a moment later, everything numbered
        // above what is numbered now.
        await Task.Delay(TimeSpan.FromSeconds(2));
        var owedAfter = await database.ScalarAsync("SELECT COALESCE(MAX(\"Sequence\"), 0) FROM \"Events\"");
        var sessions = await ZapHubProcess.ConnectNumbersAsync(api, emulator, numbers);
        var instances = new List<string>();
        foreach (var id in sessions) instances.Add((await Http.JsonAsync(await api.GetAsync($"/api/v1/sessions/{id}"), HttpStatusCode.OK)).GetProperty("instanceName").GetString()!);
        await using var b = await ZapHubProcess.StartAsync(database, ZapHubProcess.FreePort(), Settings);
        await using var c = await ZapHubProcess.StartAsync(database, ZapHubProcess.FreePort(), Settings);

        // The work is shared before the load starts: each role's partitions spread over the three nodes.
        await Eventually.WaitAsync(() => database.ScalarAsync("SELECT COUNT(DISTINCT \"Holder\") FROM \"WorkLeases\" WHERE \"Role\" = 'signals' AND \"Holder\" IS NOT NULL"),
            n => n == 3, "the three nodes to share the gateway-event partitions", TimeSpan.FromSeconds(60));
        var victim = $"%/{c.ProcessId}/%";
        var victimHeld = await database.ScalarAsync($"SELECT COUNT(*) FROM \"WorkLeases\" WHERE \"Role\" <> 'member' AND \"Holder\" LIKE '{victim}'");
        output.WriteLine($"node C holds {victimHeld} partitions before the load");

        // A little gateway latency keeps sends in flight, as on a real network.
        await Http.ExpectAsync(await emulator.FaultsAsync(new { latencyMs = 15 }), HttpStatusCode.OK);
        // Mixed load through all three nodes' APIs and the emulator: sends (whose receipts come back as gateway events) and
        // messages from customers.
        var apis = new[] { api, b.Client(api.DefaultRequestHeaders.Authorization!.Parameter), c.Client(api.DefaultRequestHeaders.Authorization!.Parameter) };
        var accepted = 0;
        var sending = Task.Run(async () =>
        {
            for (var i = 0; i < messages; i++)
                // As a load balancer would: a node that does not answer is skipped and the request goes to the next one, with
                // the same idempotency key, so a message the dead node accepted before dying is not accepted twice.
                for (var node = i % 3; ; node = (node + 1) % 3)
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/messages")
                        { Content = JsonContent.Create(new { to = $"55119{7000 + i % 40:D4}{1000 + i:D4}", text = $"out-{i}", route = "any" }) };
                    request.Headers.Add("Idempotency-Key", $"out-{i}");
                    try
                    {
                        using var response = await apis[node].SendAsync(request);
                        if (response.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.OK) Interlocked.Increment(ref accepted);
                        break;
                    }
                    catch (HttpRequestException) { }
                }
        });
        var receiving = Task.Run(async () =>
        {
            for (var i = 0; i < inbound; i++)
                await Http.ExpectAsync(await emulator.InboundAsync("evolution", instances[i % numbers], $"55219{i % 50:D4}0000", $"in-{i}"), HttpStatusCode.OK);
        });

        await Eventually.WaitAsync(() => database.CountAsync("\"Direction\" = 'Inbound'"), n => n >= inbound / 4, "a quarter of the customers' messages to be stored",
            TimeSpan.FromSeconds(120));
        await c.KillAsync();
        var clock = Stopwatch.StartNew();
        var inFlightAtKill = await database.CountAsync("\"Status\" = 'Sending'");
        // Deliveries leased at the kill (on any node): those the dead node had posted but not yet recorded are posted again.
        var leasedAtKill = await database.ScalarAsync("SELECT COUNT(*) FROM \"WebhookDeliveries\" WHERE \"Status\" = 'Pending' AND \"LeaseUntil\" > now()");
        output.WriteLine($"killed node C with {inFlightAtKill} sends in flight and {leasedAtKill} deliveries leased");

        // Takeover: every partition C held is held by a live node.
        await Eventually.WaitAsync(() => database.ScalarAsync($"SELECT COUNT(*) FROM \"WorkLeases\" WHERE \"Role\" <> 'member' AND \"Holder\" LIKE '{victim}'"),
            n => n == 0, "the dead node's partitions to be taken", TimeSpan.FromSeconds(60));
        var takeover = clock.Elapsed;
        output.WriteLine($"takeover: {takeover.TotalSeconds:0.0} s after the kill (lease {WorkLease.TotalSeconds:0} s, renewed every {RenewEvery.TotalSeconds:0} s)");
        Assert.True(takeover < WorkLease + 3 * RenewEvery + TimeSpan.FromSeconds(5), $"takeover took {takeover.TotalSeconds:0.0} s");

        await Task.WhenAll(sending, receiving);
        var settled = "\"Status\" IN ('Sent', 'Delivered', 'Read', 'Failed', 'Received')";
        await Eventually.WaitAsync(() => database.CountAsync(settled), n => n == messages + inbound, "every message to be sent and every customer message stored",
            TimeSpan.FromSeconds(180));
        await Eventually.WaitAsync(() => database.ScalarAsync("SELECT COUNT(*) FROM \"GatewayEvents\" WHERE \"ProcessedAt\" IS NULL"), n => n == 0,
            "every gateway event to be processed", TimeSpan.FromSeconds(120));
        try
        {
            await Eventually.WaitAsync(() => database.ScalarAsync("SELECT COUNT(*) FROM \"WebhookDeliveries\" WHERE \"Status\" <> 'Succeeded'"), n => n == 0,
                "every event to be delivered", TimeSpan.FromSeconds(120));
        }
        finally
        {
            foreach (var line in await database.StringsAsync("SELECT \"Status\" || ' ' || COUNT(*) || ' attempts ' || MAX(\"Attempts\") || ' ' || COALESCE(MAX(\"LastError\"), '') || ' ' || COALESCE(MAX(\"LastStatusCode\"), 0) FROM \"WebhookDeliveries\" GROUP BY \"Status\""))
                output.WriteLine("deliveries: " + line);
            output.WriteLine($"sink received {sink.Ids.Count}");
        }

        var acknowledged = await database.ScalarAsync("SELECT COUNT(*) FROM \"GatewayEvents\"");
        var processedClean = await database.ScalarAsync("SELECT COUNT(*) FROM \"GatewayEvents\" WHERE \"ProcessedAt\" IS NOT NULL AND \"Error\" IS NULL");
        var customerTexts = await database.TextsAsync("\"Direction\" = 'Inbound'");
        var sentTexts = (await emulator.MessagesAsync("")).Select(m => m.GetProperty("text").GetString()!).ToList();
        var inDoubt = (await database.TextsAsync("\"WasInDoubt\" = true")).ToHashSet();
        var failed = await database.CountAsync("\"Status\" = 'Failed'");
        foreach (var why in await database.StringsAsync("SELECT \"Text\" || ': ' || COALESCE(\"StatusReason\", '') || ' ' || COALESCE(\"FailureCategory\", '') FROM \"Messages\" WHERE \"Status\" = 'Failed'"))
            output.WriteLine("failed " + why);
        var events = await database.StringsAsync($"SELECT \"PublicId\" FROM \"Events\" WHERE \"OnlyEndpointId\" IS NULL AND \"Sequence\" > {owedAfter}");
        var deliveredIds = sink.Ids.ToList();
        var repeats = deliveredIds.Count - deliveredIds.Distinct().Count();
        output.WriteLine($"gateway events: {acknowledged} acknowledged, {processedClean} processed; customers' messages: {inbound} posted, {customerTexts.Count} stored, {customerTexts.Distinct().Count()} distinct");
        output.WriteLine($"messages: {accepted} accepted, {sentTexts.Distinct().Count()} reached the gateway ({sentTexts.Count} sends), {inDoubt.Count} in doubt, {failed} failed");
        output.WriteLine($"events: {events.Count} recorded, {deliveredIds.Distinct().Count()} delivered ({repeats} repeated deliveries)");

        Assert.Equal(acknowledged, processedClean);
        Assert.Equal(inbound, customerTexts.Count);
        Assert.Equal(inbound, customerTexts.Distinct().Count());
        Assert.Equal(messages, accepted);
        Assert.Equal(messages, await database.CountAsync("\"Direction\" = 'Outbound'"));
        Assert.Equal(0, failed);
        var sendCounts = sentTexts.GroupBy(t => t).ToDictionary(g => g.Key, g => g.Count());
        Assert.All(Enumerable.Range(0, messages), i => Assert.True(sendCounts.ContainsKey($"out-{i}"), $"out-{i} never reached the gateway"));
        Assert.All(sendCounts.Where(x => x.Value > 1), x => Assert.Contains(x.Key, inDoubt));
        Assert.True(inDoubt.Count <= inFlightAtKill + numbers, $"{inDoubt.Count} in doubt, {inFlightAtKill} were in flight");
        Assert.Empty(events.Except(deliveredIds));
        Assert.Empty(deliveredIds.Except(events).Except(await database.StringsAsync($"SELECT \"PublicId\" FROM \"Events\" WHERE \"Sequence\" <= {owedAfter}")));
        // Webhooks are at least once, with the same webhook-id; a repeat is allowed only for a delivery in flight at the kill.
        Assert.True(repeats <= leasedAtKill, $"{repeats} repeated deliveries, {leasedAtKill} were in flight");
    }
}
