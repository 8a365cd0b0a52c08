using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ZapHub.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace ZapHub.IntegrationTests;

/// <summary>
/// ZapHub under load while what it depends on misbehaves: the database away for a while (PostgreSQL stopped and
/// started; SQLite locked by another process) and a gateway answering slowly and resetting connections. Nothing that
/// was acknowledged is lost, nothing is sent twice, ZapHub recovers by itself, and meanwhile it says what is wrong.
/// </summary>
public class OutageTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(8);

    [Fact]
    public async Task WhileTheDatabaseIsAwayUnderLoadNothingAcknowledgedIsLostNothingIsSentTwiceAndZapHubRecovers()
    {
        await using var postgres = TestDatabase.IsPostgres ? await PrivatePostgres.StartAsync() : null;
        await using var database = TestDatabase.Create(postgres?.Server);
        // Evolution tries a webhook answered 5xx again, 10 times; 2 s apart covers the outage.
        await using var emulator = await EmulatorHost.StartAsync(("EvolutionWebhookRetryDelay", "00:00:02"));
        await using var app = new ZapHubApp(database);
        app.ServeOverKestrel();
        await app.RegisterEmulatorAsync(emulator);
        var t = await app.CreateTenantAsync();
        await t.SettingsAsync();
        var (_, key) = await t.CreateApiKeyAsync("messages:send");
        var api = app.WithApiKey(key);
        var numbers = new[]
        {
            await t.ConnectedSessionAsync(emulator, "evolution", "Evolution", "Recepção", "5511999990001"),
            await t.ConnectedSessionAsync(emulator, "evolution", "Evolution", "Caixa", "5511999990002"),
        };

        var accepted = new ConcurrentBag<string>();
        var refused = new ConcurrentBag<(string Text, int Status, string? Code)>();
        var inbound = new ConcurrentBag<string>();
        var health = new ConcurrentBag<int>();
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        TimeSpan outageStart = default, outageEnd = default;

        var sending = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var text = $"out-{i}";
                try
                {
                    var response = await api.PostAsJsonAsync("/api/v1/messages", new { to = $"55119{7000 + i % 40:D4}1234", text, route = "any" });
                    if (response.StatusCode == HttpStatusCode.Accepted) accepted.Add(text);
                    else refused.Add((text, (int)response.StatusCode, await CodeAsync(response)));
                }
                catch (HttpRequestException) { refused.Add((text, 0, "no answer")); }
                await Task.Delay(50);
            }
        });
        var receiving = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var text = $"in-{i}";
                await Http.ExpectAsync(await emulator.InboundAsync("evolution", numbers[i % 2].Instance, $"55119{6000 + i % 40:D4}4321", text), HttpStatusCode.OK);
                inbound.Add(text);
                await Task.Delay(100);
            }
        });

        await Task.Delay(TimeSpan.FromSeconds(3));
        outageStart = clock.Elapsed;
        await using (var outage = await BeginOutageAsync(postgres, database))
        {
            var during = Stopwatch.StartNew();
            while (during.Elapsed < Outage)
            {
                try { health.Add((int)(await app.Anonymous().GetAsync("/health/ready")).StatusCode); }
                catch (HttpRequestException) { health.Add(0); }
                await Task.Delay(500);
            }
        }
        if (postgres is not null) await postgres.ResumeAsync();
        outageEnd = clock.Elapsed;
        await Task.Delay(TimeSpan.FromSeconds(3));
        await stop.CancelAsync();
        await Task.WhenAll(sending, receiving);
        var loadTime = clock.Elapsed;

        // ZapHub recovers by itself: every accepted message goes out once, every event the gateway got through arrives.
        try
        {
            await Eventually.WaitAsync(() => database.CountAsync("\"Status\" = 'Sent' OR \"Status\" = 'Delivered' OR \"Status\" = 'Read'"),
                n => n >= accepted.Count, "every accepted message to be sent", TimeSpan.FromSeconds(90));
        }
        catch (Xunit.Sdk.XunitException)
        {
            // Say where the unsent ones are stuck before failing.
            foreach (var row in await database.StringsAsync("SELECT \"Status\" || ' ' || COALESCE(\"StatusReason\", '-') || ' lease ' || COALESCE(\"LeaseOwner\", '-') || ' due ' || \"DueAt\" " +
                                                             "FROM \"Messages\" WHERE \"Status\" NOT IN ('Sent', 'Delivered', 'Read', 'Received')"))
                output.WriteLine("unsent: " + row);
            throw;
        }
        var recovered = clock.Elapsed;
        var arrival = Stopwatch.StartNew();
        List<string> missing;
        while ((missing = inbound.Except(await database.TextsAsync("\"Status\" = 'Received'")).ToList()).Count > 0 && arrival.Elapsed < TimeSpan.FromSeconds(90))
            await Task.Delay(500);

        var sent = (await emulator.MessagesAsync("")).Select(m => m.GetProperty("text").GetString()!).ToList();
        var duplicates = sent.GroupBy(s => s).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        var lost = accepted.Where(a => !sent.Contains(a)).ToList();
        var received = (await database.TextsAsync("\"Status\" = 'Received'")).ToList();
        var storageCodes = refused.Where(r => r.Code == "storage_unavailable").ToList();
        output.WriteLine($"{(postgres is null ? "SQLite locked by the sqlite3 shell (another process)" : "PostgreSQL stopped")} for {(outageEnd - outageStart).TotalSeconds:0.0} s " +
                         $"under {accepted.Count + refused.Count} sends and {inbound.Count} inbound messages in {loadTime.TotalSeconds:0} s");
        output.WriteLine($"sends: {accepted.Count} accepted, {refused.Count} refused ({string.Join(", ", refused.GroupBy(r => $"{r.Status} {r.Code}").Select(g => $"{g.Key}: {g.Count()}"))})");
        output.WriteLine($"readiness during the outage: {string.Join(", ", health.GroupBy(h => h).Select(g => $"{g.Key}: {g.Count()}"))}");
        output.WriteLine($"recovered {(recovered - outageEnd).TotalSeconds:0.0} s after the outage; lost {lost.Count}, sent twice {duplicates.Count}, " +
                         $"inbound stored {received.Distinct().Count()} of {inbound.Count} (twice: {received.Count - received.Distinct().Count()})");

        if (missing.Count > 0)
        {
            var inbox = await Http.JsonAsync(await (await app.OperatorAsync()).GetAsync("/api/v1/admin/gateway-events?limit=1000"), HttpStatusCode.OK);
            foreach (var text in missing.Take(5))
                output.WriteLine($"missing {text}: " + string.Join(" | ", inbox.GetProperty("events").EnumerateArray()
                    .Where(e => e.GetProperty("body").GetString()!.Contains($"\"{text}\"")).Select(e => $"{e.GetProperty("processedAt")} {e.GetProperty("error")}")));
            output.WriteLine("emulator: " + await emulator.Http.GetStringAsync("/_emulator/stats"));
        }
        Assert.Empty(missing);
        Assert.Empty(lost);
        Assert.Empty(duplicates);
        Assert.Equal(received.Count, received.Distinct().Count());
        // Meanwhile ZapHub said what was wrong: readiness failed, and what it could not accept it refused naming the storage
        // (SQLite's writers wait out a lock of this length, so sends there were slow rather than refused).
        Assert.Contains(503, health);
        if (postgres is not null) Assert.NotEmpty(storageCodes);
        Assert.All(refused, r => Assert.True(r.Status == 503 && r.Code == "storage_unavailable", $"{r.Text}: {r.Status} {r.Code}"));
    }

    /// <summary>PostgreSQL: the server stopped (every connection cut). SQLite: another process (the sqlite3 shell) holds the write lock.</summary>
    private static async Task<IAsyncDisposable> BeginOutageAsync(PrivatePostgres? postgres, TestDatabase database)
    {
        if (postgres is not null)
        {
            await postgres.PauseAsync();
            return new Released(() => Task.CompletedTask);
        }
        var shell = Process.Start(new ProcessStartInfo("sqlite3", [Path.Combine(database.DataDirectory, "zaphub.db")])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true,
        })!;
        await shell.StandardInput.WriteLineAsync(".timeout 10000");
        await shell.StandardInput.WriteLineAsync("BEGIN EXCLUSIVE;");
        await shell.StandardInput.WriteLineAsync("SELECT 'locked';");
        await shell.StandardInput.FlushAsync();
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        Assert.Equal("locked", await shell.StandardOutput.ReadLineAsync(wait.Token));
        return new Released(async () =>
        {
            await shell.StandardInput.WriteLineAsync("ROLLBACK;");
            await shell.StandardInput.WriteLineAsync(".quit");
            await shell.StandardInput.FlushAsync();
            await shell.WaitForExitAsync();
            shell.Dispose();
        });
    }

    private sealed class Released(Func<Task> release) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await release();
    }

    private static async Task<string?> CodeAsync(HttpResponseMessage response)
    {
        try { return (await response.Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("code", out var code) ? code.GetString() : null; }
        catch (JsonException) { return null; }
    }

    [Fact]
    public async Task AGatewayAnsweringSlowlyAndResettingConnectionsLosesNothingAndSendsNothingTwice()
    {
        await using var emulator = await EmulatorHost.StartAsync();
        await using var app = new ZapHubApp().With("Messages:RetryBaseDelay", "00:00:01").With("Messages:RetryMaxDelay", "00:00:02");
        app.ServeOverKestrel();
        await app.RegisterEmulatorAsync(emulator);
        var t = await app.CreateTenantAsync();
        await t.SettingsAsync(s => s["maxAttempts"] = 10);
        await t.ConnectedSessionAsync(emulator, "evolution", "Evolution", "Recepção", "5511999990001");
        await t.ConnectedSessionAsync(emulator, "evolution", "Evolution", "Caixa", "5511999990002");

        // Every call takes 1.5 s, and the next 15 calls are cut off before the server does anything.
        await Http.ExpectAsync(await emulator.FaultsAsync(new { latencyMs = 1500, resetNext = 15 }), HttpStatusCode.OK);
        var ids = new List<Guid>();
        for (var i = 0; i < 40; i++) ids.Add(await t.SendAsync(new { to = $"55119{7000 + i:D4}1234", text = $"slow-{i}", route = "any" }));
        var clock = Stopwatch.StartNew();
        await Eventually.WaitAsync(async () => (await Task.WhenAll(ids.Select(t.MessageAsync))).Count(m => m.GetProperty("message").GetProperty("status").GetString() is "Sent" or "Delivered" or "Read"),
            n => n == ids.Count, "every message to be sent", TimeSpan.FromSeconds(120));

        var sent = (await emulator.MessagesAsync("")).Select(m => m.GetProperty("text").GetString()!).ToList();
        var timelines = await Task.WhenAll(ids.Select(t.MessageAsync));
        var retried = timelines.Count(m => m.GetProperty("timeline").EnumerateArray().Any(e => e.GetProperty("detail").GetString()?.Contains("next try") == true));
        output.WriteLine($"40 messages through a 1.5 s gateway with 15 reset connections: all sent in {clock.Elapsed.TotalSeconds:0} s, {retried} retried (the timeline says why), {sent.Count - sent.Distinct().Count()} sent twice");
        Assert.Equal(40, sent.Distinct().Count(s => s.StartsWith("slow-")));
        Assert.Equal(sent.Count, sent.Distinct().Count());
        Assert.InRange(retried, 1, 40);
    }
}
