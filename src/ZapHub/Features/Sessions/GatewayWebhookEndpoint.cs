using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using ZapHub.Gateways;

namespace ZapHub.Features.Sessions;

/// <summary>
/// POST /hooks/gateway/{sessionId}/{secret}[/{event-suffix}]: where gateways report. The per-session secret in the
/// path is the only credential gateways can carry (WPPConnect cannot send headers); it is compared in constant time
/// against a hash. Unknown session or wrong secret: 404 with nothing stored.
/// </summary>
public static class GatewayWebhookEndpoint
{
    public const string RateLimitPolicy = "gateway-webhooks";

    public static void MapGatewayWebhooks(this IEndpointRouteBuilder app) =>
        app.MapPost("/hooks/gateway/{sessionId:guid}/{secret}/{**suffix}", ReceiveAsync)
            .ExcludeFromDescription()
            .DisableAntiforgery()
            .RequireRateLimiting(RateLimitPolicy);

    private static async Task<IResult> ReceiveAsync(Guid sessionId, string secret, HttpContext http, SessionSecrets secrets,
        GatewayInbox inbox, IOptions<GatewayOptions> options, TimeProvider time)
    {
        var entry = await secrets.GetAsync(sessionId, http.RequestAborted);
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(secret));
        if (entry is null || !CryptographicOperations.FixedTimeEquals(presented, entry.Hash)) return Results.NotFound();

        var max = options.Value.MaxWebhookBytes;
        if (http.Request.ContentLength > max) return Results.StatusCode(StatusCodes.Status413PayloadTooLarge);
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = max;
        byte[] body;
        using (var buffer = new MemoryStream())
        {
            await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
            if (buffer.Length > max) return Results.StatusCode(StatusCodes.Status413PayloadTooLarge);
            body = buffer.ToArray();
        }
        try
        {
            using var json = JsonDocument.Parse(body);
            if (json.RootElement.ValueKind != JsonValueKind.Object) return Results.BadRequest(new { error = "A JSON object was expected." });
        }
        catch (JsonException)
        {
            return Results.BadRequest(new { error = "The body is not valid JSON." });
        }

        var now = time.GetUtcNow().UtcDateTime;
        var stored = await inbox.StoreAsync(new GatewayEvent
        {
            TenantId = entry.TenantId,
            SessionId = sessionId,
            ReceivedAt = now,
            DedupeKey = DedupeKey(body, entry.Kind, now),
            Body = Encoding.UTF8.GetString(body),
        }, http.RequestAborted);
        return Results.Ok(new { received = true, duplicate = !stored });
    }

    /// <summary>
    /// Evolution retries failed deliveries with the same body, and every body carries its own millisecond
    /// date_time: the body's hash identifies the event. WPPConnect never retries, and some of its bodies carry
    /// no time at all (status-find), so two identical bodies are two events: its key includes the arrival time.
    /// </summary>
    public static string DedupeKey(byte[] body, GatewayKind kind, DateTime receivedAt)
    {
        // 128 bits of SHA-256 identify an event well enough and keep the unique index small.
        var hash = Convert.ToHexString(SHA256.HashData(body), 0, 16);
        return kind == GatewayKind.Evolution ? hash : $"{hash}:{receivedAt.Ticks}";
    }
}
