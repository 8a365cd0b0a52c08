using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using ZapHub.Features.Events;

namespace ZapHub.IntegrationTests.Infrastructure;

/// <summary>
/// A tenant's system on loopback: checks the Standard Webhooks signature of every request against the secrets it
/// was told, records what came, and answers what the test says (200 by default). Stopping it leaves the port
/// closed (connection refused); starting it again reopens the same port.
/// </summary>
public sealed class SignedReceiver : IAsyncDisposable
{
    public sealed record Hit(string Id, long Timestamp, string Type, JsonElement Body, string SignatureHeader, bool SignatureValid, int Answered);

    private WebApplication? app;
    public int Port { get; private set; }
    public string Url => $"http://127.0.0.1:{Port}/hooks/zaphub";
    public ConcurrentQueue<Hit> Hits { get; } = new();

    /// <summary>The secrets a signature may be made with (the endpoint's, or both during a rotation).</summary>
    public List<string> Secrets { get; } = [];

    /// <summary>What to answer; called for each request.</summary>
    public Func<HttpResponse, int> Answer { get; set; } = _ => 200;

    public static async Task<SignedReceiver> StartAsync()
    {
        var receiver = new SignedReceiver();
        await receiver.StartAsync(0);
        return receiver;
    }

    public async Task StartAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var web = builder.Build();
        web.MapPost("/hooks/zaphub", async (HttpContext http) =>
        {
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer);
            var body = buffer.ToArray();
            var id = http.Request.Headers["webhook-id"].ToString();
            var timestamp = long.TryParse(http.Request.Headers["webhook-timestamp"], out var t) ? t : 0;
            var signature = http.Request.Headers["webhook-signature"].ToString();
            string[] secrets;
            lock (Secrets) secrets = [.. Secrets];
            var valid = secrets.Any(s => WebhookSignature.Verify(WebhookSignature.Key(s), id, timestamp, body, signature));
            var json = JsonSerializer.Deserialize<JsonElement>(body);
            var status = Answer(http.Response);
            Hits.Enqueue(new Hit(id, timestamp, json.GetProperty("type").GetString()!, json, signature, valid, status));
            return Results.StatusCode(status);
        });
        await web.StartAsync();
        Port = new Uri(web.Urls.First()).Port;
        app = web;
    }

    public async Task StopAsync()
    {
        if (app is null) return;
        await app.StopAsync();
        await app.DisposeAsync();
        app = null;
    }

    /// <summary>Successful hits, once per event id.</summary>
    public IReadOnlyList<Hit> Delivered => Hits.Where(h => h.Answered is >= 200 and < 300).ToList();

    public Task<Hit> WaitForAsync(Func<Hit, bool> match, string what, TimeSpan? timeout = null) =>
        Eventually.WaitAsync(() => Task.FromResult(Delivered.FirstOrDefault(match)), h => h is not null, what, timeout)!;

    public ValueTask DisposeAsync() => new(StopAsync());
}
