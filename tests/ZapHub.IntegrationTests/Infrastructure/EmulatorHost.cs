using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using ZapHub.GatewayEmulator;

namespace ZapHub.IntegrationTests.Infrastructure;

/// <summary>
/// The gateway emulator as its own server on a loopback port, as a real gateway would be. It can be stopped
/// (the gateway goes down) and started again on the same port.
/// </summary>
public sealed class EmulatorHost : IAsyncDisposable
{
    public const string EvolutionKey = "test-evolution-key";
    public const string WppSecret = "test-wpp-secret";

    private readonly Dictionary<string, string?> settings;
    private WebApplication? app;
    private int port;

    private EmulatorHost(Dictionary<string, string?> settings) => this.settings = settings;

    public Uri BaseAddress => new($"http://127.0.0.1:{port}");
    public HttpClient Http { get; } = new();

    public static async Task<EmulatorHost> StartAsync(params (string Key, string Value)[] overrides)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Emulator:EvolutionApiKey"] = EvolutionKey,
            ["Emulator:WppSecretKey"] = WppSecret,
        };
        foreach (var (k, v) in overrides) settings["Emulator:" + k] = v;
        var host = new EmulatorHost(settings);
        await host.StartAsync();
        return host;
    }

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Services.AddGatewayEmulator(builder.Configuration);
        app = builder.Build();
        app.MapGatewayEmulator();
        await app.StartAsync();
        port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        Http.BaseAddress ??= BaseAddress;
    }

    /// <summary>The gateway goes down: connections are refused until <see cref="StartAsync"/>.</summary>
    public async Task StopAsync()
    {
        if (app is null) return;
        await app.StopAsync();
        await app.DisposeAsync();
        app = null;
    }

    public string BaseUrl(string provider) => $"{BaseAddress}{provider}";

    /// <summary>A WPPConnect session token minted with the emulator's secret key.</summary>
    public async Task<string> WppTokenAsync(string session)
    {
        var response = await Http.PostAsync($"/wppconnect/api/{session}/{WppSecret}/generate-token", null);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("token").GetString()!;
    }

    /// <summary>A WPPConnect call with a Bearer token; a body goes as "application/json; charset=utf-8", like .NET clients send it.</summary>
    public static HttpRequestMessage Wpp(HttpMethod method, string session, string action, string token, object? body = null)
    {
        var request = new HttpRequestMessage(method, $"/wppconnect/api/{session}/{action}");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + token);
        if (body is not null) request.Content = new StringContent(JsonSerializer.Serialize(body), System.Text.Encoding.UTF8, "application/json");
        return request;
    }

    public Task<HttpResponseMessage> ScanAsync(string provider, string instance, string phone = "5511999990001", string profile = "Barbearia do Zé") =>
        Http.PostAsJsonAsync($"/_emulator/{provider}/{instance}/scan", new { phone, profileName = profile });

    public Task<HttpResponseMessage> PairAsync(string provider, string instance, string code, string phone) =>
        Http.PostAsJsonAsync($"/_emulator/{provider}/{instance}/pair", new { code, phone, profileName = "Clínica" });

    public Task<HttpResponseMessage> UnlinkAsync(string provider, string instance) => Http.PostAsync($"/_emulator/{provider}/{instance}/unlink", null);
    public Task<HttpResponseMessage> DropAsync(string provider, string instance) => Http.PostAsync($"/_emulator/{provider}/{instance}/drop", null);
    public Task<HttpResponseMessage> RestartAndForgetAsync() => Http.PostAsync("/_emulator/restart", null);
    public Task<HttpResponseMessage> FaultsAsync(object faults) => Http.PostAsJsonAsync("/_emulator/faults", faults);

    /// <summary>Switches a fault mode ("unreachable", "socketless") on for one instance name, or off with null.</summary>
    public Task<HttpResponseMessage> FaultAsync(string provider, string instance, string? mode) =>
        Http.PostAsJsonAsync($"/_emulator/{provider}/{instance}/fault", new { mode });

    /// <summary>What the gateway holds for an instance name (Evolution: exists, state; WPPConnect: browser, token file, profile).</summary>
    public async Task<JsonElement> InspectAsync(string provider, string instance) =>
        await Http.GetFromJsonAsync<JsonElement>($"/_emulator/{provider}/{instance}");

    public Task<HttpResponseMessage> InboundAsync(string provider, string instance, string from, string text, string pushName = "Cliente") =>
        Http.PostAsJsonAsync($"/_emulator/{provider}/{instance}/inbound", new { from, text, pushName });

    /// <summary>The recipient's phone reports a message as "delivered" or "read".</summary>
    public Task<HttpResponseMessage> AckAsync(string provider, string instance, string messageId, string status) =>
        Http.PostAsJsonAsync($"/_emulator/{provider}/{instance}/ack", new { messageId, status });

    public async Task<List<JsonElement>> MessagesAsync(string instance) =>
        await Http.GetFromJsonAsync<List<JsonElement>>(instance.Length == 0 ? "/_emulator/messages" : $"/_emulator/messages?instance={instance}") ?? [];

    public async Task<long> SentCountAsync() => (await Http.GetFromJsonAsync<JsonElement>("/_emulator/stats")).GetProperty("sent").GetInt64();

    public async Task<JsonElement> InstancesAsync() => await Http.GetFromJsonAsync<JsonElement>("/_emulator/instances");

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        Http.Dispose();
    }
}

public static class Eventually
{
    /// <summary>Polls until the condition holds; webhooks travel asynchronously, so tests wait for their effect (as long as a person would on a busy machine).</summary>
    public static async Task<T> WaitAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        T value = await read();
        while (!done(value))
        {
            if (DateTime.UtcNow > until) throw new Xunit.Sdk.XunitException($"Timed out waiting for {what}. Last value: {Describe(value)}");
            await Task.Delay(50);
            value = await read();
        }
        return value;
    }

    private static string Describe<T>(T value) => value is JsonElement e ? e.ToString() : value?.ToString() ?? "null";
}
