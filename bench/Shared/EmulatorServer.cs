using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using ZapHub.GatewayEmulator;

namespace ZapHub.Bench;

/// <summary>The gateway emulator on its own loopback port, as a real gateway server would be, with the benchmarks' Evolution key.</summary>
public sealed class EmulatorServer : IAsyncDisposable
{
    public const string EvolutionKey = "bench-key";

    private EmulatorServer(WebApplication app, string url) => (App, Url) = (app, url);

    public WebApplication App { get; }

    /// <summary>The server's root, e.g. http://127.0.0.1:41234/ (Evolution under evolution/, the phone under _emulator/).</summary>
    public string Url { get; }

    public HttpClient Http => http ??= new HttpClient { BaseAddress = new Uri(Url) };
    private HttpClient? http;

    public SentLog Sent => App.Services.GetRequiredService<SentLog>();

    public static async Task<EmulatorServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Configuration["Emulator:EvolutionApiKey"] = EvolutionKey;
        builder.Services.AddGatewayEmulator(builder.Configuration);
        var app = builder.Build();
        app.MapGatewayEmulator();
        await app.StartAsync();
        return new EmulatorServer(app, app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    public async ValueTask DisposeAsync()
    {
        http?.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
