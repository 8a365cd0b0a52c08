using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ZapHub.Data;
using ZapHub.Platform;

namespace ZapHub.Features.Events;

public sealed record EventView(string Id, string Type, DateTime Timestamp, System.Text.Json.JsonElement Payload);

public sealed record EventPage(IReadOnlyList<EventView> Events, string? Last);

/// <summary>
/// The tenant's events for API clients: a Server-Sent Events stream, and the same as pages. Both read committed,
/// sequenced events of the caller's tenant only (the tenant query filter), in commit order, so resuming after the
/// last id seen (the <c>Last-Event-ID</c> header) skips nothing and repeats nothing.
/// </summary>
public sealed class EventStream(ZapHubDb db, EventRelay relay, IOptions<EventOptions> options, Platform.Telemetry.ZapHubMetrics metrics)
{
    private const int PageSize = 500;

    public async Task<EventPage> PageAsync(string? after, IReadOnlyList<string> types, int limit, CancellationToken ct)
    {
        var cursor = await CursorAsync(after, ct);
        var rows = await ReadAsync(cursor, types, Math.Clamp(limit, 1, PageSize), ct);
        return new EventPage(rows.Select(r => new EventView(r.PublicId, r.Type, r.OccurredAt, System.Text.Json.JsonSerializer.Deserialize<System.Text.Json.JsonElement>(r.Payload))).ToList(),
            rows.Count > 0 ? rows[^1].PublicId : after);
    }

    public async Task StreamAsync(HttpContext http, string? lastEventId, IReadOnlyList<string> types, CancellationToken ct)
    {
        // Checked before the first byte, so a bad id is a plain 400, not a broken stream.
        var cursor = lastEventId is null ? await db.Events.Where(e => e.Sequence != null).MaxAsync(e => e.Sequence, ct) ?? 0 : await CursorAsync(lastEventId, ct);
        var response = http.Response;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        await response.WriteAsync("retry: 2000\n\n", ct);
        await response.Body.FlushAsync(ct);
        var heartbeat = options.Value.StreamHeartbeat;
        metrics.StreamClientJoined();
        try
        {
            while (!ct.IsCancellationRequested)
            {
                var relayed = relay.Relayed.Next;
                var rows = await ReadAsync(cursor, types, PageSize, ct);
                if (rows.Count > 0)
                {
                    var text = new StringBuilder();
                    foreach (var r in rows) text.Append("id: ").Append(r.PublicId).Append("\nevent: ").Append(r.Type).Append("\ndata: ").Append(r.Payload).Append("\n\n");
                    await response.WriteAsync(text.ToString(), ct);
                    await response.Body.FlushAsync(ct);
                    cursor = rows[^1].Sequence!.Value;
                    continue;
                }
                if (await Task.WhenAny(relayed, Task.Delay(heartbeat, ct)) != relayed)
                {
                    await response.WriteAsync(": keep-alive\n\n", ct);
                    await response.Body.FlushAsync(ct);
                }
            }
        }
        catch (OperationCanceledException) { }
        finally { metrics.StreamClientLeft(); }
    }

    private async Task<long> CursorAsync(string? after, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(after)) return 0;
        return await db.Events.AsNoTracking().Where(e => e.PublicId == after && e.Sequence != null).Select(e => e.Sequence).FirstOrDefaultAsync(ct)
            ?? throw ProblemException.Invalid("Last-Event-ID", "event_unknown", $"No event {after} (it may be older than the events kept). Reconnect without it to start from now.");
    }

    private Task<List<EventRecord>> ReadAsync(long cursor, IReadOnlyList<string> types, int limit, CancellationToken ct)
    {
        var query = db.Events.AsNoTracking().Where(e => e.Sequence > cursor && e.OnlyEndpointId == null);
        if (types.Count > 0) query = query.Where(e => types.Contains(e.Type));
        return query.OrderBy(e => e.Sequence).Take(limit).ToListAsync(ct);
    }

    public static IReadOnlyList<string> ParseTypes(string? types)
    {
        var list = (types ?? "").Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToList();
        return list.FirstOrDefault(t => !EventTypes.IsKnown(t)) is { } unknown
            ? throw ProblemException.Invalid("types", "event_type_unknown", $"\"{unknown}\" is not an event type; see GET /api/v1/events/types.")
            : list;
    }
}
