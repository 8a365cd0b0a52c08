using ZapHub.Gateways;

namespace ZapHub.Features.Sessions;

/// <summary>How much of the recent past a number spent connected, read from its timeline.</summary>
public static class Uptime
{
    /// <summary>
    /// The share of time Connected since the number first connected, over at most <paramref name="window"/>; null until
    /// it has connected once. The time spent adding and scanning a new number is not counted against it.
    /// </summary>
    public static (double Share, DateTime Since)? Of(IEnumerable<TimelineEntry> timeline, DateTime now, TimeSpan window)
    {
        var ordered = timeline.OrderBy(e => e.At).ToList();
        if (ordered.FirstOrDefault(e => e.To == SessionState.Connected) is not { } first) return null;
        var since = first.At > now - window ? first.At : now - window;
        if (now <= since) return null;
        var connected = TimeSpan.Zero;
        for (var i = 0; i < ordered.Count; i++)
        {
            if (ordered[i].To != SessionState.Connected) continue;
            var start = ordered[i].At < since ? since : ordered[i].At;
            var end = i + 1 < ordered.Count ? ordered[i + 1].At : now;
            if (end > start) connected += end - start;
        }
        return (Math.Min(1, connected / (now - since)), since);
    }
}
