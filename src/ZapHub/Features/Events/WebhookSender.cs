using System.Diagnostics;
using System.Net;
using System.Text;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ZapHub.Data;
using ZapHub.Features.Tenancy;
using ZapHub.Platform;

namespace ZapHub.Features.Events;

/// <summary>
/// Delivers the outbox: leases due deliveries, posts each signed event, and records every attempt. Many posts run
/// at once (a capped number per endpoint, so one slow receiver cannot hold all the slots); their results are
/// written in groups. 2xx is success, anything else (redirects included: they are not followed) is retried on the
/// schedule, with the same webhook-id; 410 disables the endpoint, and so does failing for days without a success.
/// </summary>
public sealed class WebhookSender(IServiceScopeFactory scopes, TimeProvider time, IHttpClientFactory clients, IOptions<WebhookOptions> options,
    IOptions<NodeOptions> node, EventRelay relay, WebhookSecrets secrets, WriteGate writeGate, Platform.Telemetry.ZapHubMetrics metrics, ILogger<WebhookSender> logger) : BackgroundService
{
    public const string HttpClientName = "webhooks";
    private const int ExcerptLength = 500;

    /// <summary>
    /// A delivery's lease outlives its request by this much (time to record the result). It is also how long a delivery a
    /// dead node had in flight waits, beyond the request timeout, before another node sends it again.
    /// </summary>
    private static readonly TimeSpan LeaseMargin = TimeSpan.FromSeconds(15);

    private sealed record Job(long DeliveryId, Guid TenantId, Guid EndpointId, int Attempt, string Url, bool EndpointEnabled, string EventId, string Payload,
        IReadOnlyList<byte[]> Keys);

    private sealed record Result(Job Job, DateTime At, int? StatusCode, int LatencyMs, string? Response, string? Error, TimeSpan? RetryAfter)
    {
        public bool Succeeded => StatusCode is >= 200 and < 300;
    }

    private readonly Channel<Result> results = Channel.CreateUnbounded<Result>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<Guid, int> inFlightPerEndpoint = [];
    private readonly Lock sync = new();
    private readonly SemaphoreSlim wake = new(0);
    private int inFlight;

    public void Wake()
    {
        if (wake.CurrentCount == 0) wake.Release();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!node.Value.RunsWorkers) return;
        var writer = WriteResultsAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            var relayed = relay.Relayed.Next;
            var started = 0;
            try
            {
                started = await StartDueAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogError(ex, "Leasing webhook deliveries failed; retrying shortly");
            }
            if (started > 0 && Volatile.Read(ref inFlight) < options.Value.MaxConcurrent) continue;
            try { await Task.WhenAny(relayed, wake.WaitAsync(options.Value.PollInterval, stoppingToken)); }
            catch (OperationCanceledException) { break; }
        }
        await writer;
    }

    private async Task<int> StartDueAsync(CancellationToken ct)
    {
        var room = options.Value.MaxConcurrent - Volatile.Read(ref inFlight);
        if (room <= 0) return 0;
        List<Guid> full;
        lock (sync) full = [.. inFlightPerEndpoint.Where(x => x.Value >= options.Value.MaxConcurrentPerEndpoint).Select(x => x.Key)];

        await using var scope = scopes.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<TenantContext>().UseWorkerScope();
        var db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        var now = time.UtcNow();
        var ids = await LeaseAsync(db, now, room, full, ct);
        if (ids.Count == 0) return 0;

        var rows = await db.WebhookDeliveries.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking()
            .Where(d => ids.Contains(d.Id))
            .Join(db.Events.IgnoreQueryFilters([ZapHubDb.TenantFilter]), d => d.EventId, e => e.Id, (d, e) => new { d.Id, d.TenantId, d.EndpointId, d.Attempts, e.PublicId, e.Payload })
            .ToListAsync(ct);
        var endpointIds = rows.Select(r => r.EndpointId).Distinct().ToList();
        var endpoints = await db.WebhookEndpoints.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking()
            .Where(x => endpointIds.Contains(x.Id)).ToDictionaryAsync(x => x.Id, ct);
        foreach (var r in rows)
        {
            var endpoint = endpoints.GetValueOrDefault(r.EndpointId);
            var job = new Job(r.Id, r.TenantId, r.EndpointId, r.Attempts + 1, endpoint?.Url ?? "", endpoint?.Enabled == true, r.PublicId, r.Payload,
                endpoint?.Enabled == true ? secrets.SigningKeys(endpoint, now) : []);
            Interlocked.Increment(ref inFlight);
            lock (sync) inFlightPerEndpoint[job.EndpointId] = inFlightPerEndpoint.GetValueOrDefault(job.EndpointId) + 1;
            _ = Task.Run(() => SendAsync(job, ct), CancellationToken.None);
        }
        return rows.Count;
    }

    /// <summary>
    /// Takes due deliveries, at most a few per endpoint, skipping endpoints already at their cap. PostgreSQL locks the
    /// rows with SKIP LOCKED so two nodes never take the same ones; the lease outlives the request's timeout.
    /// </summary>
    private async Task<List<long>> LeaseAsync(ZapHubDb db, DateTime now, int limit, List<Guid> skipEndpoints, CancellationToken ct)
    {
        var d = SqlNames.Of<WebhookDelivery>(db);
        var (id, endpoint, next, lease) = (d[nameof(WebhookDelivery.Id)], d[nameof(WebhookDelivery.EndpointId)], d[nameof(WebhookDelivery.NextAttemptAt)], d[nameof(WebhookDelivery.LeaseUntil)]);
        var skip = skipEndpoints.Count == 0 ? "" : $" AND {endpoint} NOT IN ({string.Join(", ", skipEndpoints.Select((_, i) => "{" + (i + 4) + "}"))})";
        var leasable = $"{d[nameof(WebhookDelivery.Status)]} = 'Pending' AND ({lease} IS NULL OR {lease} < {{1}})";
        var due = $"SELECT {id}, ROW_NUMBER() OVER (PARTITION BY {endpoint} ORDER BY {next}) AS rn FROM {d} " +
                  $"WHERE {leasable} AND {next} <= {{1}}{skip}";
        // The ranking reads a snapshot; the locking read checks again that each row is still leasable, since PostgreSQL
        // re-evaluates only the locking query's own conditions on a row another node leased (and committed) meanwhile.
        var sql = $"UPDATE {d} SET {lease} = {{0}} WHERE {id} IN (SELECT {id} FROM {d} WHERE {leasable} AND {id} IN " +
                  $"(SELECT {id} FROM ({due}) ranked WHERE rn <= {{3}}) ORDER BY {next} LIMIT {{2}}{(db is PostgresZapHubDb ? " FOR UPDATE SKIP LOCKED" : "")}) " +
                  $"RETURNING {id} AS \"Value\"";
        object[] parameters = [now + options.Value.Timeout + LeaseMargin, now, limit, options.Value.MaxConcurrentPerEndpoint, .. skipEndpoints.Cast<object>()];
        // Woken by every relayed batch, most often with nothing due (no endpoints): a read finds that out without
        // taking SQLite's write lock.
        if (!await db.WebhookDeliveries.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AnyAsync(d => d.Status == DeliveryStatus.Pending && d.NextAttemptAt <= now, ct))
            return [];
        using var turn = await writeGate.EnterAsync(db, ct);
        return await db.Database.SqlQueryRaw<long>(sql, parameters).ToListAsync(ct);
    }

    private async Task SendAsync(Job job, CancellationToken ct)
    {
        Result result;
        try
        {
            result = job.EndpointEnabled ? await PostAsync(job, ct) : new Result(job, time.UtcNow(), null, 0, null, Note.Of("hook_disabled").Store(), null);
        }
        catch (Exception ex)
        {
            result = new Result(job, time.UtcNow(), null, 0, null, Note.Of("hook_failed", ("detail", Truncate(ex.Message, 200))).Store(), null);
        }
        finally
        {
            Interlocked.Decrement(ref inFlight);
            lock (sync)
            {
                if (inFlightPerEndpoint.GetValueOrDefault(job.EndpointId) <= 1) inFlightPerEndpoint.Remove(job.EndpointId);
                else inFlightPerEndpoint[job.EndpointId]--;
            }
        }
        if (job.EndpointEnabled)
            metrics.WebhookDelivery(result.Succeeded ? "delivered" : result.StatusCode is { } status ? $"http_{status / 100}xx" : "no_answer", TimeSpan.FromMilliseconds(result.LatencyMs));
        results.Writer.TryWrite(result);
        Wake();
    }

    private async Task<Result> PostAsync(Job job, CancellationToken ct)
    {
        var at = time.UtcNow();
        var timestamp = time.GetUtcNow().ToUnixTimeSeconds();
        var body = Encoding.UTF8.GetBytes(job.Payload);
        using var request = new HttpRequestMessage(HttpMethod.Post, job.Url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.TryAddWithoutValidation("webhook-id", job.EventId);
        request.Headers.TryAddWithoutValidation("webhook-timestamp", timestamp.ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation("webhook-signature", string.Join(' ', job.Keys.Select(k => WebhookSignature.Sign(k, job.EventId, timestamp, body))));
        var started = Stopwatch.GetTimestamp();
        int Elapsed() => (int)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        try
        {
            using var response = await clients.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            var excerpt = await ExcerptAsync(response, ct);
            return new Result(job, at, (int)response.StatusCode, Elapsed(), excerpt, null, RetryAfter(response));
        }
        catch (HttpRequestException ex) when (Find<RefusedTargetException>(ex) is { } refused)
        {
            return new Result(job, at, null, Elapsed(), null, refused.Why.Store(), null);
        }
        catch (HttpRequestException ex)
        {
            return new Result(job, at, null, Elapsed(), null, Note.Of("hook_unreachable", ("detail", Truncate(ex.InnerException?.Message ?? ex.Message, 200))).Store(), null);
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return new Result(job, at, null, Elapsed(), null, Note.Of("hook_timeout", ("seconds", Math.Round(options.Value.Timeout.TotalSeconds))).Store(), null);
        }
    }

    private static async Task<string?> ExcerptAsync(HttpResponseMessage response, CancellationToken ct)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(ct);
        var buffer = new byte[ExcerptLength * 4];
        var read = 0;
        int n;
        while (read < buffer.Length && (n = await stream.ReadAsync(buffer.AsMemory(read), ct)) > 0) read += n;
        if (read == 0) return null;
        return Truncate(Encoding.UTF8.GetString(buffer, 0, read), ExcerptLength);
    }

    private TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        if (response.Headers.RetryAfter is not { } header) return null;
        if (header.Delta is { } delta) return delta;
        if (header.Date is { } date) return date - time.GetUtcNow();
        return null;
    }

    private static T? Find<T>(Exception? ex) where T : Exception
    {
        for (; ex is not null; ex = ex.InnerException)
            if (ex is T found) return found;
        return null;
    }

    private static string Truncate(string text, int length) => text.Length > length ? text[..length] : text;

    private async Task WriteResultsAsync(CancellationToken ct)
    {
        var batch = new List<Result>();
        try
        {
            while (await results.Reader.WaitToReadAsync(ct))
            {
                batch.Clear();
                while (batch.Count < 500 && results.Reader.TryRead(out var r)) batch.Add(r);
                try { await WriteAsync(batch, ct); }
                catch (Exception ex) when (!ct.IsCancellationRequested)
                {
                    // The leases run out and the deliveries are tried again: at least once, never lost.
                    logger.LogError(ex, "Recording {Count} webhook attempts failed", batch.Count);
                }
            }
        }
        catch (OperationCanceledException) { }
    }

    private async Task WriteAsync(List<Result> batch, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<TenantContext>().UseWorkerScope();
        var db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        var audit = scope.ServiceProvider.GetRequiredService<AuditLog>();
        var o = options.Value;
        var ids = batch.Select(r => r.Job.DeliveryId).ToList();
        var deliveries = await db.WebhookDeliveries.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(d => ids.Contains(d.Id)).ToDictionaryAsync(d => d.Id, ct);
        var endpointIds = batch.Select(r => r.Job.EndpointId).Distinct().ToList();
        var endpoints = await db.WebhookEndpoints.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(x => endpointIds.Contains(x.Id)).ToDictionaryAsync(x => x.Id, ct);
        foreach (var r in batch)
        {
            if (!deliveries.TryGetValue(r.Job.DeliveryId, out var d)) continue;
            var endpoint = endpoints.GetValueOrDefault(r.Job.EndpointId);
            d.Attempts = r.Job.Attempt;
            d.LeaseUntil = null;
            d.LastStatusCode = r.StatusCode;
            d.LastError = r.Error ?? (r.Succeeded ? null : $"HTTP {r.StatusCode}");
            if (r.Job.EndpointEnabled)
                db.WebhookAttempts.Add(new WebhookAttempt
                {
                    TenantId = d.TenantId, DeliveryId = d.Id, EndpointId = d.EndpointId, Attempt = r.Job.Attempt, At = r.At,
                    StatusCode = r.StatusCode, LatencyMs = r.LatencyMs, Response = r.Response, Error = r.Error,
                });
            if (r.Succeeded)
            {
                (d.Status, d.CompletedAt) = (DeliveryStatus.Succeeded, r.At);
                if (endpoint is not null) (endpoint.FailingSince, endpoint.LastSuccessAt) = (null, r.At);
                continue;
            }
            var gone = r.StatusCode == (int)HttpStatusCode.Gone;
            var givenUp = gone || !r.Job.EndpointEnabled || d.Attempts > o.RetrySchedule.Length;
            if (givenUp)
                (d.Status, d.CompletedAt) = (DeliveryStatus.Failed, r.At);
            else
                d.NextAttemptAt = r.At + NextWait(r.RetryAfter, o.RetrySchedule[d.Attempts - 1], o.Jitter);
            using (logger.BeginScope(new Dictionary<string, object> { ["TenantId"] = d.TenantId, ["EndpointId"] = d.EndpointId, ["DeliveryId"] = d.Id }))
                logger.Log(givenUp ? LogLevel.Warning : LogLevel.Information, "Delivery {DeliveryId} to webhook endpoint {EndpointId} failed (attempt {Attempt}, {Outcome}){Next}",
                    d.Id, d.EndpointId, d.Attempts, r.StatusCode is { } code ? $"HTTP {code}" : Note.Read(r.Error)?.Code ?? "error", givenUp ? "; given up" : $"; next at {d.NextAttemptAt:O}");
            if (endpoint is not { Enabled: true } || !r.Job.EndpointEnabled) continue;
            endpoint.FailingSince ??= r.At;
            endpoint.LastFailureAt = r.At;
            var reason = gone ? "The endpoint answered 410 Gone: it asked not to receive events any more."
                : r.At - endpoint.FailingSince >= o.DisableAfter ? $"No delivery succeeded for {o.DisableAfter.TotalDays:0.#} days."
                : null;
            if (reason is null) continue;
            (endpoint.Enabled, endpoint.DisabledAt, endpoint.DisabledReason, endpoint.UpdatedAt) = (false, r.At, reason, r.At);
            audit.Add(db, Actor.System, endpoint.TenantId, "webhook.disabled", "webhook", endpoint.Id.ToString(), $"{endpoint.Url}: {reason}");
            logger.LogWarning("Webhook endpoint {EndpointId} disabled: {Reason}", endpoint.Id, reason);
        }
        using var turn = await writeGate.EnterAsync(db, ct);
        await db.SaveChangesAsync(ct);
    }

    /// <summary>The schedule's wait with ±jitter, or the receiver's Retry-After when it named one (within a day).</summary>
    private static TimeSpan NextWait(TimeSpan? retryAfter, TimeSpan scheduled, double jitter)
    {
        if (retryAfter is { } asked && asked > TimeSpan.Zero) return asked < TimeSpan.FromDays(1) ? asked : TimeSpan.FromDays(1);
        return scheduled * (1 + (Random.Shared.NextDouble() * 2 - 1) * jitter);
    }
}
