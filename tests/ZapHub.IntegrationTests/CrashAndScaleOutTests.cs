using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ZapHub.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace ZapHub.IntegrationTests;

/// <summary>
/// The outbox's promises under real process failure: ZapHub killed with SIGKILL in the middle of a dispatch,
/// and two ZapHub processes draining one queue. The emulator, which outlives them, counts what it received.
/// </summary>
[Collection(ProcessCollection.Name)]
public class CrashAndScaleOutTests(ITestOutputHelper output)
{
    private static object Settings(int minGapMs, string inDoubt) => new
    {
        minGapMs, jitterMs = 0, typingDelayMs = 0, quietFrom = (string?)null, quietUntil = (string?)null, warmupDays = 0, warmupFirstDayLimit = 50,
        failoverToOtherNumbers = false, holdMinutes = 60, inDoubt, maxAttempts = 6, optOutKeywords = new[] { "SAIR" },
    };

    private static async Task QueueAsync(HttpClient api, int count, DateTimeOffset sendAt, string prefix)
    {
        using var throttle = new SemaphoreSlim(8);
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await throttle.WaitAsync();
            try
            {
                var to = $"55119{8000 + i % 50:D4}{i % 9000 + 1000:D4}";
                await Http.ExpectAsync(await api.PostAsJsonAsync("/api/v1/messages", new { to, text = $"{prefix}-{i}", route = "any", sendAt }), HttpStatusCode.Accepted);
            }
            finally { throttle.Release(); }
        }));
    }

    [Fact]
    public async Task KilledMidDispatchAndRestartedEveryMessageArrivesOnlyInDoubtOnesTwiceAndNumbersResumeWhenTheDoubtIsResolved()
    {
        const int messages = 3000, numbers = 10;
        await using var emulator = await EmulatorHost.StartAsync();
        await using var database = TestDatabase.Create();
        var port = ZapHubProcess.FreePort();
        // Long enough that the restarted node finds the dead sends' slots still taken and its messages must wait for them.
        var leaseDuration = TimeSpan.FromSeconds(20);
        (string, string) lease = ("Messages:LeaseDuration", leaseDuration.ToString());

        var first = await ZapHubProcess.StartAsync(database, port, lease);
        var api = await first.SetUpTenantAsync(emulator, Settings(0, "Resend"));
        await ZapHubProcess.ConnectNumbersAsync(api, emulator, numbers);
        // A little gateway latency keeps sends in flight, as on a real network.
        await Http.ExpectAsync(await emulator.FaultsAsync(new { latencyMs = 15 }), HttpStatusCode.OK);
        await QueueAsync(api, messages, DateTimeOffset.UtcNow.AddSeconds(10), "crash");

        await Eventually.WaitAsync(() => emulator.SentCountAsync(), n => n >= messages / 3, "a third of the messages to go out", TimeSpan.FromSeconds(60));
        await first.KillAsync();
        var killedAt = DateTimeOffset.UtcNow;
        var inFlightAtKill = await database.CountAsync("\"Status\" = 'Sending'");
        var receivedAtKill = await emulator.SentCountAsync();
        output.WriteLine($"killed with {receivedAtKill} received and {inFlightAtKill} in flight");
        Assert.InRange(inFlightAtKill, 0, numbers);
        Assert.True(receivedAtKill < messages, "the kill came after the dispatch ended");

        await using var second = await ZapHubProcess.StartAsync(database, port, lease);
        try
        {
            // The slot a dead send took is 3 minutes long; waiting for it would take far longer than this.
            await Eventually.WaitAsync(() => database.CountAsync("\"Status\" = 'Sent'"), n => n == messages, "every message to be sent", TimeSpan.FromSeconds(180));
        }
        finally
        {
            output.WriteLine(second.Output);
            foreach (var unsent in await database.StringsAsync("SELECT \"Text\" || ' ' || \"Status\" || ' attempts ' || \"Attempts\" || ' in doubt ' || \"WasInDoubt\" FROM \"Messages\" WHERE \"Status\" <> 'Sent'"))
                output.WriteLine($"not sent: {unsent}");
        }

        var all = await emulator.MessagesAsync("");
        var received = all.Select(m => m.GetProperty("text").GetString()!).ToList();
        var counts = received.GroupBy(t => t).ToDictionary(g => g.Key, g => g.Count());
        var inDoubt = (await database.TextsAsync("\"WasInDoubt\" = true")).ToHashSet();
        output.WriteLine($"received {received.Count} for {messages}; {inDoubt.Count} in doubt");
        Assert.All(Enumerable.Range(0, messages), i => Assert.True(counts.ContainsKey($"crash-{i}"), $"crash-{i} never reached the gateway"));
        Assert.All(counts.Where(c => c.Value > 1), c => Assert.Contains(c.Key, inDoubt));
        Assert.All(counts, c => Assert.InRange(c.Value, 1, 2));
        Assert.True(inDoubt.Count <= inFlightAtKill, $"{inDoubt.Count} in doubt, but only {inFlightAtKill} were in flight");

        // Each number was silent from the kill until its in-doubt send was resolved (the lease running out, then the next
        // sweep), not until the 3-minute slot that send had taken ran out.
        var silences = all.Where(m => m.GetProperty("at").GetDateTimeOffset() > killedAt)
            .GroupBy(m => m.GetProperty("instance").GetString()!)
            .Select(g => (Number: g.Key, Silent: g.Min(m => m.GetProperty("at").GetDateTimeOffset()) - killedAt)).OrderBy(s => s.Number).ToList();
        foreach (var (number, silent) in silences) output.WriteLine($"{number}: silent {silent.TotalSeconds:0.0} s after the kill");
        Assert.All(silences, s => Assert.True(s.Silent < leaseDuration * 2.5, $"{s.Number} was silent {s.Silent.TotalSeconds:0} s"));
        var waits = await database.ScalarAsync("SELECT COUNT(*) FROM \"MessageEvents\" WHERE \"Detail\" LIKE '{\"c\":\"waiting_send_in_flight\"%'");
        output.WriteLine($"{waits} message(s) show in their timeline that they waited for the number's unfinished send");
    }

    [Fact]
    [Trait("Category", "PostgresOnly")]
    public async Task TwoNodesDrainOneQueueEachMessageOnceAndPacingHolds()
    {
        const int numbers = 4, perNumber = 12, gapMs = 250;
        await using var emulator = await EmulatorHost.StartAsync();
        await using var database = TestDatabase.Create();
        // Each node takes only a few messages per number at a time, so both get work from the one queue.
        (string, string) share = ("Messages:MaxLeasedPerSession", "2");
        var a = await ZapHubProcess.StartAsync(database, ZapHubProcess.FreePort(), share);
        await using var nodeA = a;
        var api = await a.SetUpTenantAsync(emulator, Settings(gapMs, "Hold"));
        var sessions = await ZapHubProcess.ConnectNumbersAsync(api, emulator, numbers);
        await using var nodeB = await ZapHubProcess.StartAsync(database, ZapHubProcess.FreePort(), share);

        var sendAt = DateTimeOffset.UtcNow.AddSeconds(5);
        var i = 0;
        foreach (var session in sessions)
            for (var k = 0; k < perNumber; k++, i++)
                await Http.ExpectAsync(await api.PostAsJsonAsync("/api/v1/messages", new { to = $"55119{8000 + k:D4}1234", text = $"two-{i}", route = "session", sessionId = session, sendAt }), HttpStatusCode.Accepted);

        await Eventually.WaitAsync(() => database.CountAsync("\"Status\" = 'Sent'"), n => n == numbers * perNumber, "every message to be sent", TimeSpan.FromSeconds(90));
        var received = await emulator.MessagesAsync("");
        Assert.Equal(numbers * perNumber, received.Count);
        Assert.Equal(numbers * perNumber, received.Select(m => m.GetProperty("text").GetString()).Distinct().Count());
        foreach (var byNumber in received.GroupBy(m => m.GetProperty("instance").GetString()))
        {
            var times = byNumber.Select(m => m.GetProperty("at").GetDateTimeOffset()).Order().ToList();
            for (var n = 1; n < times.Count; n++)
                Assert.True(times[n] - times[n - 1] >= TimeSpan.FromMilliseconds(gapMs), $"{byNumber.Key}: sends {(times[n] - times[n - 1]).TotalMilliseconds:0} ms apart");
        }
        // Both nodes took part: each attempt records the node that made it.
        Assert.Equal(2, await database.ScalarAsync("SELECT COUNT(DISTINCT \"Node\") FROM \"MessageEvents\" WHERE \"Attempt\" IS NOT NULL"));
    }
}
