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
                    logger.LogWarning("Webhook to {Url} answered {Status}", url, (int)response.StatusCode);
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
            {
                Interlocked.Increment(ref failed);
                logger.LogWarning("Webhook to {Url} failed: {Error}", url, ex.Message);
            }
        }
    }
}
