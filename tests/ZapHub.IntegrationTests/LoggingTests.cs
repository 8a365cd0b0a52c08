using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using ZapHub.IntegrationTests.Infrastructure;

namespace ZapHub.IntegrationTests;

/// <summary>
/// What an operator's log search finds, read from the process's real console in JSON: a number's state changes once
/// each, with its tenant and number in the scope; a failed send with its category and the message's id; no key.
/// </summary>
public class LoggingTests
{
    [Fact]
    public async Task TheJsonConsoleLogsEachTransitionOnceAndEveryFailureWithItsCategoryAndIds()
    {
        await using var emulator = await EmulatorHost.StartAsync();
        await using var database = TestDatabase.Create();
        await using var node = await ZapHubProcess.StartAsync(database, ZapHubProcess.FreePort(),
            ("Logging:Console:FormatterName", "json"), ("Logging:Console:FormatterOptions:IncludeScopes", "true"), ("Logging:LogLevel:Default", "Information"));
        var api = await node.SetUpTenantAsync(emulator, new
        {
            minGapMs = 0, jitterMs = 0, typingDelayMs = 0, quietFrom = (string?)null, quietUntil = (string?)null, warmupDays = 0, warmupFirstDayLimit = 50,
            failoverToOtherNumbers = false, holdMinutes = 60, inDoubt = "Hold", maxAttempts = 3, optOutKeywords = new[] { "SAIR" },
        });
        var number = (await ZapHubProcess.ConnectNumbersAsync(api, emulator, 1))[0];
        var sent = await Http.JsonAsync(await api.PostAsJsonAsync("/api/v1/messages", new { to = "(11) 93000-0000", text = "x", sessionId = number }), HttpStatusCode.Accepted);
        var message = sent.GetProperty("id").GetGuid();
        await Eventually.WaitAsync(async () => await api.GetFromJsonAsync<JsonElement>($"/api/v1/messages/{message}"),
            m => m.GetProperty("message").GetProperty("status").GetString() == "Failed", "the send to fail");

        var entries = await Eventually.WaitAsync(() => Task.FromResult(Entries(node.Output)),
            e => e.Any(x => x.Category.EndsWith("MessageDispatcher", StringComparison.Ordinal) && x.Level == "Warning"), "the failure to be logged");
        var transitions = entries.Where(e => e.Category.EndsWith("TransitionLog", StringComparison.Ordinal) && e.Scope("SessionId") == number.ToString()).ToList();
        Assert.Single(transitions, t => t.State("ToState") == "Connected");
        Assert.Single(transitions, t => t.State("ToState") == "AwaitingScan");
        Assert.All(transitions, t => Assert.False(string.IsNullOrEmpty(t.Scope("TenantId"))));

        var failure = entries.Single(e => e.Category.EndsWith("MessageDispatcher", StringComparison.Ordinal) && e.Level == "Warning");
        Assert.Equal("invalid_number", failure.State("Category"));
        Assert.Equal(message.ToString(), failure.Scope("MessageId"));
        Assert.Equal(number.ToString(), failure.Scope("SessionId"));

        var key = api.DefaultRequestHeaders.Authorization!.Parameter!;
        Assert.DoesNotContain(key, node.Output);
    }

    private sealed record Entry(string Category, string Level, JsonElement Json)
    {
        public string? State(string name) => Json.TryGetProperty("State", out var state) && state.TryGetProperty(name, out var v) ? v.ToString() : null;

        public string? Scope(string name) =>
            Json.TryGetProperty("Scopes", out var scopes)
                ? scopes.EnumerateArray().Where(s => s.ValueKind == JsonValueKind.Object && s.TryGetProperty(name, out _)).Select(s => s.GetProperty(name).ToString()).FirstOrDefault()
                : null;
    }

    private static List<Entry> Entries(string output) =>
        [.. output.Split('\n').Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement.Clone())
            .Select(j => new Entry(j.GetProperty("Category").GetString()!, j.GetProperty("LogLevel").GetString()!, j))];
}
