using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ZapHub.IntegrationTests.Infrastructure;

/// <summary>A plain HTTP receiver on loopback that records every webhook it gets.</summary>
public sealed class WebhookSink : IAsyncDisposable
{
    private readonly WebApplication app;
    public ConcurrentQueue<(string Path, JsonElement Body)> Received { get; } = new();

    /// <summary>The webhook-id of every request received, repeats included.</summary>
    public ConcurrentQueue<string> Ids { get; } = new();

    /// <summary>Status codes to answer the next requests with, in order; 200 once they run out.</summary>
    public ConcurrentQueue<int> Answers { get; } = new();
    public Uri BaseAddress { get; }

    private WebhookSink(WebApplication app, Uri baseAddress) => (this.app, BaseAddress) = (app, baseAddress);

    public static async Task<WebhookSink> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        WebhookSink? sink = null;
        app.MapPost("/{**path}", async (HttpContext http) =>
        {
            var body = await JsonSerializer.DeserializeAsync<JsonElement>(http.Request.Body);
            sink!.Received.Enqueue((http.Request.Path.Value!, body));
            sink.Ids.Enqueue(http.Request.Headers["webhook-id"].ToString());
            return Results.StatusCode(sink.Answers.TryDequeue(out var status) ? status : 200);
        });
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        sink = new WebhookSink(app, address);
        return sink;
    }

    public Task<(string Path, JsonElement Body)> WaitForAsync(Func<(string Path, JsonElement Body), bool> match, string what) =>
        Eventually.WaitAsync(() => Task.FromResult(Received.FirstOrDefault(match)), r => r.Path is not null, what);

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
