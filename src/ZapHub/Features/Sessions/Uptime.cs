using ZapHub.Gateways;

namespace ZapHub.Features.Sessions;

/// <summary>How much of the recent past a number spent connected, read from its timeline.</summary>
public static class Uptime
{
    /// <summary>How one number did in one period: time connected out of the time measured, and how often it came back.</summary>
    public readonly record struct Period(TimeSpan Connected, TimeSpan Measured, int Reconnections)
    {
        public double? Share => Measured > TimeSpan.Zero ? Math.Min(1, Connected / Measured) : null;
    }

    /// <summary>
    /// Each period's connected time, measured from the number's first connection (<paramref name="firstConnected"/>)
    /// up to <paramref name="now"/>; a reconnection is any later return to Connected. <paramref name="timeline"/> must
    /// hold the last entry before the first period, so the state each period opens in is known.
    /// </summary>
    public static IReadOnlyList<Period> PerPeriod(IEnumerable<TimelineEntry> timeline, DateTime? firstConnected,
        IReadOnlyList<(DateTime Start, DateTime End)> periods, DateTime now)
    {
        var ordered = timeline.OrderBy(e => e.At).ToList();
        var result = new List<Period>(periods.Count);
        foreach (var (start, end) in periods)
        {
            var from = firstConnected is { } first && first > start ? first : start;
            var to = end < now ? end : now;
            if (firstConnected is null || to <= from)
            {
                result.Add(new Period(TimeSpan.Zero, TimeSpan.Zero, 0));
                continue;
            }
            var connected = TimeSpan.Zero;
            for (var i = 0; i < ordered.Count; i++)
            {
                if (ordered[i].To != SessionState.Connected) continue;
                var segmentStart = ordered[i].At < from ? from : ordered[i].At;
                var segmentEnd = i + 1 < ordered.Count ? ordered[i + 1].At : now;
                if (segmentEnd > to) segmentEnd = to;
                if (segmentEnd > segmentStart) connected += segmentEnd - segmentStart;
            }
            var reconnections = ordered.Count(e => e.To == SessionState.Connected && e.At >= start && e.At < end && e.At > firstConnected);
            result.Add(new Period(connected, to - from, reconnections));
        }
        return result;
    }
}
