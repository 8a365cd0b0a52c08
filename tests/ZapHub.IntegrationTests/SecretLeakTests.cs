using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ZapHub.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace ZapHub.IntegrationTests;

/// <summary>
/// Every secret ZapHub is given or makes — gateway credentials, each number's callback secret and gateway token, API
/// keys, webhook secrets, passwords — is looked for, after a full lifecycle on both providers with every log category
/// at Debug, in the log, in the stored database and in every response any client got. It may appear only in the one
/// response that hands it out.
/// </summary>
public class SecretLeakTests(ITestOutputHelper output)
{
    /// <summary>The responses that hand a secret out, once, by design.</summary>
    private static readonly (string Method, string Path)[] HandOuts = [("POST", "/api/v1/api-keys"), ("POST", "/api/v1/webhooks"), ("POST", "/api/v1/admin/tenants")];

    [Fact]
    public async Task NoSecretIsInTheLogTheDatabaseOrAnyResponseAfterAFullLifecycleOnBothProviders()
    {
        await using var emulator = await EmulatorHost.StartAsync(("EvolutionReconnectInterval", "00:00:00.050"));
        await using var receiver = await WebhookSink.StartAsync();
        await using var app = new ZapHubApp().CaptureLogs().RecordResponses()
            .With("Webhooks:AllowPrivateTargets", "true").With("Webhooks:PollInterval", "00:00:00.100")
            .With("Sessions:StartingTimeout", "00:00:02").With("Sessions:ReconcileInterval", "00:00:00.200").With("Sessions:TransitionalCheckInterval", "00:00:00.100");
        app.ServeOverKestrel();
        await app.RegisterEmulatorAsync(emulator);
        var t = await app.CreateTenantAsync();
        await t.SettingsAsync();
        var (_, apiKey) = await t.CreateApiKeyAsync("sessions:read", "sessions:control", "messages:send", "events:read");
        var (_, webhookSecret) = await t.CreateWebhookAsync(new Uri(receiver.BaseAddress, "/zaphub").ToString());
        var api = app.WithApiKey(apiKey);
        var secrets = new Dictionary<string, string>
        {
            ["Evolution credential"] = EmulatorHost.EvolutionKey, ["WPPConnect secret key"] = EmulatorHost.WppSecret,
            ["API key"] = apiKey, ["webhook secret"] = webhookSecret,
            ["operator password"] = ZapHubApp.OperatorPassword, ["owner password"] = t.OwnerPassword,
        };

        foreach (var (provider, kind) in new[] { ("evolution", "Evolution"), ("wppconnect", "WppConnect") })
        {
            var (id, instance) = await t.ConnectedSessionAsync(emulator, provider, kind);
            await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/test-message", new { to = "(11) 98888-7777" }), HttpStatusCode.OK);
            var sent = (await Http.JsonAsync(await api.PostAsJsonAsync("/api/v1/messages", new { to = "(11) 97777-6666", text = "Confirmado", sessionId = id }), HttpStatusCode.Accepted)).GetProperty("id").GetGuid();
            await t.WaitForMessageAsync(sent, "Sent");
            await Http.ExpectAsync(await emulator.InboundAsync(provider, instance, "5511977776666", "Obrigado!"), HttpStatusCode.OK);

            var onGateway = await emulator.InspectAsync(provider, instance);
            secrets[$"{provider} callback secret"] = CallbackSecret(onGateway.GetProperty("webhook").GetString()!);
            if (provider == "evolution") secrets["evolution instance token"] = onGateway.GetProperty("token").GetString()!;
            else foreach (var token in onGateway.GetProperty("tokensUsed").EnumerateArray()) secrets[$"wppconnect token {token}"[..30]] = token.GetString()!;

            await Http.ExpectAsync(await t.Owner.PostAsync($"/api/v1/sessions/{id}/logout", null), HttpStatusCode.OK);
            await Http.ExpectAsync(await t.Owner.DeleteAsync($"/api/v1/sessions/{id}"), HttpStatusCode.NoContent);
        }
        // A start that times out logs its failures too.
        var stuck = await t.CreateSessionAsync("Parado", "WppConnect");
        await emulator.FaultAsync("wppconnect", stuck.GetProperty("instanceName").GetString()!, "unreachable");
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{stuck.GetProperty("id")}/connect", new { }), HttpStatusCode.Accepted);
        await t.WaitForStateAsync(stuck.GetProperty("id").GetGuid(), "Failed", TimeSpan.FromSeconds(30));
        await Eventually.WaitAsync(() => Task.FromResult(receiver.Received.Count), n => n > 0, "a signed webhook delivery");

        // What an operator and an owner read.
        var op = await app.OperatorAsync();
        foreach (var path in new[] { "/api/v1/admin/gateways", "/api/v1/admin/gateway-events?limit=1000", "/api/v1/admin/audit", "/api/v1/admin/tenants", "/openapi/v1.json" })
            await Http.ExpectAsync(await op.GetAsync(path), HttpStatusCode.OK);
        foreach (var path in new[] { "/api/v1/sessions", "/api/v1/messages", "/api/v1/webhooks", "/api/v1/api-keys", "/api/v1/audit", "/api/v1/me", "/api/v1/tenant" })
            await Http.ExpectAsync(await t.Owner.GetAsync(path), HttpStatusCode.OK);

        var logs = app.Logs!.Lines.ToList();
        var responses = app.Responses!.Entries.Where(r => !HandOuts.Contains((r.Method, r.Path))).ToList();
        var stored = await StoredTextAsync(app.Database);
        output.WriteLine($"{secrets.Count} secrets looked for in {logs.Count} log lines, {responses.Count} responses and {stored.Length:N0} bytes of database");
        Assert.Contains(logs, l => l.Contains("Gateway POST") && l.Contains("generate-token"));
        Assert.True(responses.Count > 50, $"only {responses.Count} responses recorded");

        var leaks = new List<string>();
        foreach (var (what, secret) in secrets)
        {
            leaks.AddRange(logs.Where(l => l.Contains(secret, StringComparison.Ordinal)).Take(3).Select(l => $"{what} in the log: {l}"));
            leaks.AddRange(responses.Where(r => r.Text.Contains(secret, StringComparison.Ordinal)).Take(3).Select(r => $"{what} in the response to {r.Method} {r.Path}"));
            if (stored.Contains(secret, StringComparison.Ordinal)) leaks.Add($"{what} in the database");
        }
        Assert.True(leaks.Count == 0, string.Join("\n", leaks));
    }

    /// <summary>The secret part of a callback URL: /hooks/gateway/{sessionId}/{secret}[/{event}].</summary>
    private static string CallbackSecret(string url)
    {
        var segments = new Uri(url).AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return segments[Array.IndexOf(segments, "gateway") + 2];
    }

    /// <summary>Everything the database holds, as text: the SQLite files' bytes, or every PostgreSQL row.</summary>
    private static async Task<string> StoredTextAsync(TestDatabase database)
    {
        if (!TestDatabase.IsPostgres)
            return string.Concat(Directory.GetFiles(database.DataDirectory, "zaphub.db*").Select(f =>
            {
                using var stream = new FileStream(f, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                return Encoding.Latin1.GetString(copy.ToArray());
            }));
        var text = new StringBuilder();
        foreach (var table in await database.StringsAsync("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"))
            foreach (var row in await database.StringsAsync($"SELECT t::text FROM \"{table}\" t"))
                text.AppendLine(row);
        return text.ToString();
    }
}
