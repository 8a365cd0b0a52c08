using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ZapHub.IntegrationTests.Infrastructure;

namespace ZapHub.IntegrationTests;

/// <summary>
/// `zaphub backup` while ZapHub keeps accepting messages, then `zaphub restore` into a new data folder and ZapHub
/// started there: every message acknowledged before the backup began is there, the API key and the gateway's
/// (encrypted) credentials still work, so the restored install sends.
/// </summary>
[Trait("Category", "SqliteOnly")]
public class BackupTests
{
    [Fact]
    public async Task ABackupTakenUnderWriteLoadRestoresEveryAcknowledgedMessage()
    {
        await using var emulator = await EmulatorHost.StartAsync();
        await using var database = TestDatabase.CreateSqlite();
        var api = default(HttpClient)!;
        List<Guid> numbers;
        await using (var node = await ZapHubProcess.StartAsync(database, ZapHubProcess.FreePort()))
        {
            api = await node.SetUpTenantAsync(emulator, new
            {
                minGapMs = 0, jitterMs = 0, typingDelayMs = 0, quietFrom = (string?)null, quietUntil = (string?)null, warmupDays = 0, warmupFirstDayLimit = 50,
                failoverToOtherNumbers = false, holdMinutes = 60, inDoubt = "Hold", maxAttempts = 3, optOutKeywords = new[] { "SAIR" },
            });
            numbers = await ZapHubProcess.ConnectNumbersAsync(api, emulator, 2);

            // Four writers accept messages the whole time; each 202 is an acknowledgement.
            var acknowledged = new ConcurrentDictionary<Guid, long>();
            using var stop = new CancellationTokenSource();
            var clock = Stopwatch.StartNew();
            var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
            {
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var response = await api.PostAsJsonAsync("/api/v1/messages", new { to = $"1198888{w}{i % 1000:D3}", text = $"carga {w}-{i}", sessionId = numbers[i % 2] });
                    if (response.StatusCode == HttpStatusCode.Accepted)
                        acknowledged[(await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetGuid()] = clock.ElapsedTicks;
                }
            })).ToList();
            await Eventually.WaitAsync(() => Task.FromResult(acknowledged.Count), n => n >= 200, "the load to get going");

            var backupStarted = clock.ElapsedTicks;
            var backupFile = Path.Combine(database.DataDirectory, "..", Guid.NewGuid().ToString("N") + ".zaphub-backup");
            var (code, output) = await RunAsync(database, database.DataDirectory, "backup", backupFile);
            Assert.True(code == 0, output);
            await Eventually.WaitAsync(() => Task.FromResult(acknowledged.Count(a => a.Value > backupStarted)), n => n >= 50, "writes to go on after the backup");
            await stop.CancelAsync();
            await Task.WhenAll(writers);
            Assert.Contains("key-encryption certificate", output);

            var before = acknowledged.Where(a => a.Value < backupStarted).Select(a => a.Key).ToList();
            Assert.True(before.Count >= 200);

            // Restored into a new data folder; ZapHub started there answers for every acknowledged message.
            var restored = Path.Combine(Path.GetTempPath(), "zaphub-tests", Guid.NewGuid().ToString("N"));
            (code, output) = await RunAsync(database, restored, "restore", backupFile);
            Assert.True(code == 0, output);
            // Never over a database that exists.
            (code, output) = await RunAsync(database, restored, "restore", backupFile);
            Assert.Equal(1, code);
            Assert.Contains("already exists", output);
            await node.KillAsync();

            await using var again = await ZapHubProcess.StartAsync(database, ZapHubProcess.FreePort(), ("Storage:DataDirectory", restored));
            var key = api.DefaultRequestHeaders.Authorization!.Parameter;
            var restoredApi = again.Client(key);
            var missing = new List<Guid>();
            foreach (var id in before)
                if ((await restoredApi.GetAsync($"/api/v1/messages/{id}")).StatusCode != HttpStatusCode.OK) missing.Add(id);
            Assert.True(missing.Count == 0, $"{missing.Count} of {before.Count} acknowledged messages are missing from the restored copy");

            // The gateway's credentials decrypt with the key ring in the backup and the certificate kept apart: it sends.
            var sent = await Http.JsonAsync(await restoredApi.PostAsJsonAsync("/api/v1/messages", new { to = "11977776666", text = "depois da restauração", sessionId = numbers[0] }), HttpStatusCode.Accepted);
            var id2 = sent.GetProperty("id").GetGuid();
            await Eventually.WaitAsync(async () => await restoredApi.GetFromJsonAsync<JsonElement>($"/api/v1/messages/{id2}"),
                m => m.GetProperty("message").GetProperty("status").GetString() is "Sent" or "Delivered" or "Read", "the restored install to send", TimeSpan.FromSeconds(120));
            Directory.Delete(restored, recursive: true);
        }
    }

    /// <summary>`zaphub backup|restore FILE` with the node's own settings, its data folder set to <paramref name="dataDirectory"/>.</summary>
    private static async Task<(int Code, string Output)> RunAsync(TestDatabase database, string dataDirectory, string command, string file)
    {
        var info = ZapHubProcess.StartInfo(database, "http://127.0.0.1:0", ("Storage:DataDirectory", dataDirectory));
        info.ArgumentList.Clear();
        info.ArgumentList.Add(ZapHubProcess.AppPath());
        info.ArgumentList.Add(command);
        info.ArgumentList.Add(file);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(3));
        return (process.ExitCode, await stdout + await stderr);
    }
}
