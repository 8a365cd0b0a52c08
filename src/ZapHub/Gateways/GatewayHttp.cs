using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;

namespace ZapHub.Gateways;

/// <summary>
/// One HTTP exchange with a gateway: per-call timeout, no automatic retry (POSTs must never be repeated
/// blindly; the queue that called owns retries), and transport failures classified as transient. Each call is logged
/// here, with the gateway's credential masked wherever a provider puts it in the URL.
/// </summary>
public sealed class GatewayHttp(HttpClient http, GatewayOptions options, ILogger logger, string credential)
{
    public sealed record Reply(HttpStatusCode Status, string? ContentType, byte[] Bytes)
    {
        public string Text => Encoding.UTF8.GetString(Bytes);

        public JsonElement Json()
        {
            try { return JsonDocument.Parse(Bytes).RootElement.Clone(); }
            catch (JsonException) { return default; }
        }

        public bool Ok => (int)Status is >= 200 and < 300;
    }

    public async Task<Reply> SendAsync(HttpMethod method, string url, Action<HttpRequestMessage>? configure, object? body, bool longCall, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, url);
        configure?.Invoke(request);
        if (body is not null)
            request.Content = new StringContent(JsonSerializer.Serialize(body, JsonOptions), Encoding.UTF8, "application/json");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(longCall ? options.LongTimeout : options.ReadTimeout);
        var started = Stopwatch.GetTimestamp();
        try
        {
            using var response = await http.SendAsync(request, timeout.Token);
            var bytes = await response.Content.ReadAsByteArrayAsync(timeout.Token);
            logger.LogDebug("Gateway {Method} {Url} answered {Status} in {Elapsed} ms", method, Mask(url), (int)response.StatusCode, (int)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return new Reply(response.StatusCode, response.Content.Headers.ContentType?.MediaType, bytes);
        }
        catch (OperationCanceledException ex) when (!ct.IsCancellationRequested)
        {
            logger.LogWarning("Gateway {Method} {Url} timed out", method, Mask(url));
            throw new GatewayException(GatewayFailure.Transient, $"The gateway did not answer within {(longCall ? options.LongTimeout : options.ReadTimeout).TotalSeconds:0} s.", null, ex);
        }
        catch (HttpRequestException ex)
        {
            logger.LogWarning("Gateway {Method} {Url} unreachable: {Error}", method, Mask(url), ex.HttpRequestError);
            throw new GatewayException(GatewayFailure.Transient, "The gateway could not be reached.", null, ex);
        }
    }

    /// <summary>The URL as it may be logged: WPPConnect takes its secret key in the path.</summary>
    public string Mask(string url) => credential.Length == 0 ? url : url.Replace(Uri.EscapeDataString(credential), "***").Replace(credential, "***");

    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The categories every provider shares; each adapter refines the ambiguous codes first.</summary>
    public static GatewayException Classify(Reply reply, string what)
    {
        var status = (int)reply.Status;
        var detail = reply.Text is { Length: > 300 } t ? t[..300] : reply.Text;
        var failure = status switch
        {
            401 or 403 => GatewayFailure.Auth,
            404 => GatewayFailure.InstanceMissing,
            408 or 425 or 502 or 503 or 504 => GatewayFailure.Transient,
            429 => GatewayFailure.RateLimited,
            >= 500 => GatewayFailure.Transient,
            _ => GatewayFailure.Permanent,
        };
        return new GatewayException(failure, $"{what} failed: HTTP {status} {detail}", status);
    }
}
