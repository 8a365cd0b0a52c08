using System.Text;
using System.Threading.Channels;

namespace ZapHub.GatewayEmulator;

/// <summary>
/// Posts the emulated gateways' webhooks, one at a time in the order they were raised (both real servers post
/// JSON with axios; neither signs anything). WPPConnect drops a failed delivery; Evolution tries a delivery that failed
/// with a 5xx or no answer again later (10 tries, ~5 s apart, contract §2), and never one answered 4xx. A retry joins
/// the queue again when its time comes, so it overtakes nothing already waiting.
/// </summary>
public sealed class WebhookPoster(IHttpClientFactory clients, ILogger<WebhookPoster> logger, Microsoft.Extensions.Options.IOptions<EmulatorOptions> options) : BackgroundService
{
    public const string ClientName = "emulator-webhooks";
    private const int EvolutionTries = 10;
    private readonly Channel<(string Url, string Json, int TriesLeft)> queue = Channel.CreateUnbounded<(string, string, int)>(new() { SingleReader = true });
    private long delivered, failed;

    public long Delivered => Interlocked.Read(ref delivered);
    public long Failed => Interlocked.Read(ref failed);

    /// <summary>Posts once (WPPConnect), or with Evolution's retries of 5xx answers and unreachable receivers.</summary>
    public void Post(string url, string json, bool retryServerErrors = false) =>
        queue.Writer.TryWrite((url, json, retryServerErrors ? EvolutionTries - 1 : 0));

    private void RetryLater(string url, string json, int triesLeft, CancellationToken ct) =>
        _ = Task.Delay(options.Value.EvolutionWebhookRetryDelay, ct).ContinueWith(_ => queue.Writer.TryWrite((url, json, triesLeft - 1)),
            ct, TaskContinuationOptions.OnlyOnRanToCompletion, TaskScheduler.Default);

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
        await foreach (var (url, json, triesLeft) in queue.Reader.ReadAllAsync(stoppingToken))
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
                    if ((int)response.StatusCode >= 500 && triesLeft > 0) RetryLater(url, json, triesLeft, stoppingToken);
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
            {
                Interlocked.Increment(ref failed);
                logger.LogWarning("Webhook to {Url} failed: {Error}", Redact(url), ex.GetType().Name);
                if (triesLeft > 0) RetryLater(url, json, triesLeft, stoppingToken);
            }
        }
    }
}
