using System.Text;
using System.Threading.Channels;

namespace ZapHub.GatewayEmulator;

/// <summary>
/// Posts the emulated gateways' webhooks, one at a time in the order they were raised (both real servers post
/// JSON with axios; neither signs anything). Failures are logged and dropped, as WPPConnect does.
/// </summary>
public sealed class WebhookPoster(IHttpClientFactory clients, ILogger<WebhookPoster> logger) : BackgroundService
{
    public const string ClientName = "emulator-webhooks";
    private readonly Channel<(string Url, string Json)> queue = Channel.CreateUnbounded<(string, string)>(new() { SingleReader = true });
    private long delivered, failed;

    public long Delivered => Interlocked.Read(ref delivered);
    public long Failed => Interlocked.Read(ref failed);

    public void Post(string url, string json) => queue.Writer.TryWrite((url, json));

    /// <summary>Posts at once, outside the ordered queue (a storm); returns the receiver's status code, 0 when unreachable.</summary>
    public async Task<int> SendNowAsync(string url, string json, CancellationToken ct)
    {
        try
        {
            using var content = new StringContent(json, Encoding.UTF8, "application/json");
            using var response = await clients.CreateClient(ClientName).PostAsync(url, content, ct);
            Interlocked.Increment(ref response.IsSuccessStatusCode ? ref delivered : ref failed);
            return (int)response.StatusCode;
        }
        catch (HttpRequestException)
        {
            Interlocked.Increment(ref failed);
            return 0;
        }
    }

    /// <summary>Callback URLs carry the receiver's secret in their path: logs name the host only.</summary>
    public static string Redact(string url) => Uri.TryCreate(url, UriKind.Absolute, out var uri) ? $"{uri.Scheme}://{uri.Authority}/…" : "(invalid URL)";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var http = clients.CreateClient(ClientName);
        await foreach (var (url, json) in queue.Reader.ReadAllAsync(stoppingToken))
        {
            try
            {
                using var content = new StringContent(json, Encoding.UTF8, "application/json");
                using var response = await http.PostAsync(url, content, stoppingToken);
                if (response.IsSuccessStatusCode) Interlocked.Increment(ref delivered);
                else
                {
                    Interlocked.Increment(ref failed);
                    logger.LogWarning("Webhook to {Url} answered {Status}", Redact(url), (int)response.StatusCode);
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
            {
                Interlocked.Increment(ref failed);
                logger.LogWarning("Webhook to {Url} failed: {Error}", Redact(url), ex.GetType().Name);
            }
        }
    }
}
