using ZapHub.Platform.Telemetry;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Globalization;
using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http.Features;
using ZapHub.Platform;
using Microsoft.Extensions.Options;
using Microsoft.EntityFrameworkCore;
using ZapHub.Data;
using ZapHub.Platform.Cluster;
using ZapHub.Features.Sessions;
using ZapHub.Gateways;

namespace ZapHub.Features.GatewayWebhooks;

/// <summary>
/// POST /hooks/gateway/{sessionId}/{secret}[/{event-suffix}]: where gateways report. The per-session secret in the
/// path is the only credential gateways can carry (WPPConnect cannot send headers); it is compared in constant time
/// against a hash. Unknown session or wrong secret: 404 with nothing stored.
/// The route short-circuits the middleware pipeline: gateways carry no cookies, keys or languages, and during a burst
/// the dashboard's middleware would cost more than the receiving itself. It limits its own rate and catches its own
/// failures instead.
/// </summary>
public static class GatewayWebhookEndpoint
{
    /// <summary>
    /// The gateway-webhook path: this receiver, the inbox that stores each event before it is acknowledged, and the
    /// processor that hands the events' signals to the features' handlers (<see cref="IGatewaySignalHandler"/>).
    /// </summary>
    public static IServiceCollection AddGatewayWebhooks(this IServiceCollection services)
    {
        services.AddSingleton<GatewayWebhookLimiter>();
        services.AddSingleton<GatewayWebhookRepeats>();
        services.AddSingleton<SessionSecrets>();
        services.AddSingleton<SignalProcessor>();
        services.AddHostedService(sp => sp.GetRequiredService<SignalProcessor>());
        services.AddSingleton<GatewayInbox>();
        services.AddHostedService(sp => sp.GetRequiredService<GatewayInbox>());
        return services;
    }

    public static IEndpointRouteBuilder MapGatewayWebhooks(this IEndpointRouteBuilder app)
    {
        app.MapPost("/hooks/gateway/{sessionId:guid}/{secret}/{**suffix}", ReceiveAsync)
            .ExcludeFromDescription()
            .DisableValidation()
            .ShortCircuit();
        return app;
    }

    private static async Task ReceiveAsync(HttpContext http)
    {
        var services = http.RequestServices;
        var sessionId = Guid.Parse((string)http.Request.RouteValues["sessionId"]!);
        using var lease = services.GetRequiredService<GatewayWebhookLimiter>().Acquire(sessionId, http.Connection.RemoteIpAddress);
        var metrics = services.GetRequiredService<ZapHubMetrics>();
        if (!lease.IsAcquired)
        {
            metrics.GatewayWebhook("unknown", "rate_limited");
            if (lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
                http.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            await Results.Problem(statusCode: StatusCodes.Status429TooManyRequests, title: "Too many requests. Slow down and try again shortly.").ExecuteAsync(http);
            return;
        }
        try
        {
            var (result, provider, outcome) = await StoreAsync(http, sessionId, (string)http.Request.RouteValues["secret"]!);
            metrics.GatewayWebhook(provider, outcome);
            await result.ExecuteAsync(http);
        }
        catch (BadHttpRequestException ex)
        {
            // Kestrel's own limits while reading the body (too large, truncated).
            metrics.GatewayWebhook("unknown", "refused");
            await Results.Problem(statusCode: ex.StatusCode, title: "The request body could not be read.").ExecuteAsync(http);
        }
        catch (Exception ex) when (StorageFailure.Is(ex) && !http.RequestAborted.IsCancellationRequested)
        {
            // The database is unavailable: the gateway keeps its event and retries (Evolution does; WPPConnect does not).
            metrics.GatewayWebhook("unknown", "failed");
            await Results.Problem(statusCode: StatusCodes.Status503ServiceUnavailable, title: "The event could not be stored. Try again shortly.").ExecuteAsync(http);
        }
    }

    private static async Task<(IResult Result, string Provider, string Outcome)> StoreAsync(HttpContext http, Guid sessionId, string secret)
    {
        var services = http.RequestServices;
        var entry = await services.GetRequiredService<SessionSecrets>().GetAsync(sessionId, http.RequestAborted);
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(secret));
        if (entry is null || !CryptographicOperations.FixedTimeEquals(presented, entry.Hash)) return (Results.NotFound(), "unknown", "refused");
        var kind = entry.Kind.ToString();

        var max = services.GetRequiredService<IOptions<GatewayOptions>>().Value.MaxWebhookBytes;
        if (http.Request.ContentLength > max) return (TooLarge(max), kind, "refused");
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = max;
        byte[] body;
        using (var buffer = new MemoryStream(http.Request.ContentLength is > 0 and var length ? (int)length : 1024))
        {
            await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
            if (buffer.Length > max) return (TooLarge(max), kind, "refused");
            body = buffer.ToArray();
        }
        var provider = services.GetRequiredService<GatewayProviders>().For(entry.Kind);
        if (!TryRead(body, provider, out var read)) return (Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "The body is not a JSON object."), kind, "refused");

        var now = services.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime;
        if (read.Instance is { } named && named != entry.InstanceName
            && (await services.GetRequiredService<SessionSecrets>().GetAsync(sessionId, http.RequestAborted, fresh: true))?.InstanceName != named)
            return (await RefuseForeignAsync(services, sessionId, named, now, http.RequestAborted), kind, "refused");
        // A gateway looping on a transitional state (Evolution posts `connecting` ~19 times a second while WhatsApp is
        // unreachable) would fill the inbox with events that change nothing: consecutive repeats are acknowledged, not stored.
        var repeats = services.GetRequiredService<GatewayWebhookRepeats>();
        var repeatKey = provider.RepeatKey(body);
        if (repeats.IsRepeat(sessionId, repeatKey, now)) return (Duplicate, kind, "duplicate");
        var result = await services.GetRequiredService<GatewayInbox>().StoreAsync(new GatewayEvent
        {
            TenantId = entry.TenantId,
            SessionId = sessionId,
            Partition = WorkPartitions.Of(sessionId),
            ReceivedAt = now,
            // The hash is the body as sent: a retried delivery is the same event.
            DedupeKey = DedupeKey(body, provider, now, read.SentAt),
            Body = read.Stored,
        }, http.RequestAborted);
        if (result == InboxResult.Stored) repeats.Stored(sessionId, repeatKey, now);
        return result switch
        {
            InboxResult.Stored => (Stored, kind, "stored"),
            InboxResult.Duplicate => (Duplicate, kind, "duplicate"),
            // Deleted while the event was on its way: the same answer as for any unknown session, so the gateway stops.
            _ => (Results.NotFound(), kind, "refused"),
        };
    }

    private static IResult TooLarge(long max) =>
        Results.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: $"The body is larger than {max} bytes.");

    /// <summary>
    /// A session's secret URL accepts events about its own instance only: another instance's events would otherwise
    /// set this number's state and phone. Refused with a 4xx (no gateway retries one) and counted on the session.
    /// </summary>
    private static async Task<IResult> RefuseForeignAsync(IServiceProvider services, Guid sessionId, string named, DateTime now, CancellationToken ct)
    {
        var shown = named.Length > SessionSecrets.MaxInstanceName ? named[..SessionSecrets.MaxInstanceName] : named;
        await using (var scope = services.CreateAsyncScope())
            await scope.ServiceProvider.GetRequiredService<ZapHub.Data.ZapHubDb>().Sessions.IgnoreQueryFilters([ZapHub.Data.ZapHubDb.TenantFilter])
                .Where(s => s.Id == sessionId)
                .ExecuteUpdateAsync(u => u.SetProperty(s => s.RefusedEvents, s => s.RefusedEvents + 1)
                    .SetProperty(s => s.LastRefusedAt, now).SetProperty(s => s.LastRefusedInstance, shown), ct);
        return Results.Problem(statusCode: StatusCodes.Status409Conflict, title: "This URL receives events about one instance only; this event names another.",
            extensions: new Dictionary<string, object?> { ["code"] = "foreign_instance" });
    }

    private static readonly Acknowledgement Stored = new("{\"received\":true,\"duplicate\":false}"u8.ToArray());
    private static readonly Acknowledgement Duplicate = new("{\"received\":true,\"duplicate\":true}"u8.ToArray());

    /// <summary>A fixed JSON answer written straight to the response: Results.Bytes takes the file-result path (ranges,
    /// validators), measured at 2-3 % of the process's CPU during an ingest burst.</summary>
    private sealed class Acknowledgement(byte[] body) : IResult
    {
        public async Task ExecuteAsync(HttpContext http)
        {
            http.Response.ContentType = "application/json";
            http.Response.ContentLength = body.Length;
            await http.Response.BodyWriter.WriteAsync(body);
        }
    }

    /// <summary>What the receiver takes from a body on its one reading pass.</summary>
    public readonly record struct ReadBody(string? SentAt, string? Instance, string Stored);

    /// <summary>
    /// Checks the whole body is one well-formed JSON object, without building a document (the event is parsed for real
    /// later, by the processor), and on the same pass picks its top-level date_time and instance name and masks the
    /// string values of the provider's top-level secret fields in the text to store.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> body, GatewayProvider provider, out ReadBody read)
    {
        read = default;
        string? sentAt = null, instance = null;
        List<(int Start, int Length)>? secrets = null;
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return false;
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != 1) continue;
                if (reader.ValueTextEquals("date_time"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String) sentAt = TryGetString(ref reader);
                    continue;
                }
                if (reader.ValueTextEquals(provider.InstanceField))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String) instance = TryGetString(ref reader);
                    continue;
                }
                if (!IsSecret(ref reader, provider.SecretFields)) continue;
                reader.Read();
                // A string token's raw bytes are its value between two quotes.
                if (reader.TokenType == JsonTokenType.String) (secrets ??= []).Add(((int)reader.TokenStartIndex, reader.ValueSpan.Length + 2));
            }
            // The reader has thrown on anything malformed, cut short or trailing the object.
        }
        catch (JsonException)
        {
            return false;
        }
        read = new ReadBody(sentAt, instance, secrets is null ? Encoding.UTF8.GetString(body) : Masked(body, secrets));
        return true;
    }

    private static bool IsSecret(ref Utf8JsonReader reader, IReadOnlyList<string> fields)
    {
        foreach (var field in fields)
            if (reader.ValueTextEquals(field)) return true;
        return false;
    }

    private static string Masked(ReadOnlySpan<byte> body, List<(int Start, int Length)> secrets)
    {
        var text = new StringBuilder(body.Length);
        var at = 0;
        foreach (var (start, length) in secrets)
        {
            text.Append(Encoding.UTF8.GetString(body[at..start])).Append("\"***\"");
            at = start + length;
        }
        return text.Append(Encoding.UTF8.GetString(body[at..])).ToString();
    }

    /// <summary>
    /// The body's hash after a time the provider chooses (<see cref="GatewayProvider.DedupeTime"/>). Keys start with a time so that they grow: new keys land at the end of the unique index, and a committed batch
    /// rewrites a few of its pages instead of one page per event (random keys made SQLite's log write ~4 KB each).
    /// </summary>
    public static string DedupeKey(byte[] body, GatewayProvider provider, DateTime receivedAt, string? sentAt)
    {
        // 128 bits of SHA-256 identify an event well enough and keep the unique index small.
        var hash = Convert.ToHexString(SHA256.HashData(body), 0, 16);
        return $"{provider.DedupeTime(sentAt, receivedAt)}|{hash}";
    }

    /// <summary>A string that is valid JSON but not valid text (a lone surrogate "\ud800", invalid UTF-8) is no time: the
    /// event is kept and its hash alone identifies it.</summary>
    private static string? TryGetString(ref Utf8JsonReader reader)
    {
        try { return reader.GetString(); }
        catch (InvalidOperationException) { return null; }
    }
}
