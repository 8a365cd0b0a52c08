using Microsoft.EntityFrameworkCore;
using ZapHub.Data;
using ZapHub.Features.Messages;
using ZapHub.Features.Tenancy;
using ZapHub.Gateways;
using ZapHub.Platform;

namespace ZapHub.Features.Sessions;

/// <summary>One day in the tenant's calendar: messages by what happened to them that day, and how the connection held.</summary>
/// <param name="Uptime">Share of the day spent connected, counted from the number's first connection; null before it.</param>
public sealed record HealthDay(DateOnly Day, int Sent, int Delivered, int Read, int Failed, int Received, double? Uptime, int Reconnections);

/// <param name="DeliveryRate">Delivered ÷ sent over the period; null when nothing was sent.</param>
/// <param name="ReadRate">Read ÷ delivered over the period; null when nothing was delivered.</param>
public sealed record HealthTotals(int Sent, int Delivered, int Read, int Failed, int Received, double? DeliveryRate, double? ReadRate, double? Uptime, int Reconnections);

/// <summary>Today's sends of one number against its limit (warm-up included), and its warm-up day if it is still warming up.</summary>
public sealed record LimitUse(Guid SessionId, string DisplayName, int SentToday, int? DailyLimit, int? WarmupDay, int WarmupDays);

/// <summary>A number's (or, without <see cref="SessionId"/>, all the tenant's numbers') last days, oldest first.</summary>
public sealed record HealthReport(Guid? SessionId, string TimeZone, IReadOnlyList<HealthDay> Days, HealthTotals Totals, IReadOnlyList<LimitUse> Limits);

/// <summary>
/// Each number's health, read from what ZapHub already keeps: message timestamps (sent, delivered, read, failed,
/// received) counted per day of the tenant's calendar, and the number's state timeline for uptime and reconnections.
/// </summary>
public sealed class NumberHealthService(ZapHubDb db, TenantContext tenant, TimeProvider time)
{
    public const int MaxDays = 90;

    public async Task<HealthReport> ForNumberAsync(Guid sessionId, int days, CancellationToken ct)
    {
        var session = await db.Sessions.AsNoTracking().FirstOrDefaultAsync(s => s.Id == sessionId, ct)
            ?? throw ProblemException.NotFound("Session");
        return await ReportAsync([session], sessionId, days, ct);
    }

    public async Task<HealthReport> ForTenantAsync(int days, CancellationToken ct) =>
        await ReportAsync(await db.Sessions.AsNoTracking().OrderBy(s => s.CreatedAt).ToListAsync(ct), null, days, ct);

    private async Task<HealthReport> ReportAsync(IReadOnlyList<Session> sessions, Guid? sessionId, int days, CancellationToken ct)
    {
        if (days is < 1 or > MaxDays) throw ProblemException.Invalid("days", "health_days", $"Ask for 1 to {MaxDays} days.");
        var tenantId = tenant.RequireTenant();
        var zoneId = await db.Tenants.Where(t => t.Id == tenantId).Select(t => t.TimeZone).FirstOrDefaultAsync(ct) ?? Tenant.DefaultTimeZone;
        var zone = TimeZoneInfo.FindSystemTimeZoneById(zoneId);
        var now = time.UtcNow();
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTimeFromUtc(now, zone));
        var calendar = Enumerable.Range(0, days).Select(i => today.AddDays(i - days + 1)).ToList();
        var periods = calendar.Select(d => (Start: Governor.ToUtc(d.ToDateTime(TimeOnly.MinValue), zone), End: Governor.ToUtc(d.AddDays(1).ToDateTime(TimeOnly.MinValue), zone))).ToList();
        var (from, to) = (periods[0].Start, periods[^1].End);

        var ids = sessions.Select(s => s.Id).ToList();
        var messages = db.Messages.AsNoTracking().Where(m => m.SessionId != null && ids.Contains(m.SessionId.Value));
        var outbound = messages.Where(m => m.Direction == MessageDirection.Outbound);
        var sent = await PerDayAsync(outbound.Where(m => m.SentAt != null).Select(m => m.SentAt!.Value), from, to, zone, ct);
        var delivered = await PerDayAsync(outbound.Where(m => m.DeliveredAt != null).Select(m => m.DeliveredAt!.Value), from, to, zone, ct);
        var read = await PerDayAsync(outbound.Where(m => m.ReadAt != null).Select(m => m.ReadAt!.Value), from, to, zone, ct);
        var failed = await PerDayAsync(outbound.Where(m => m.FailedAt != null).Select(m => m.FailedAt!.Value), from, to, zone, ct);
        var received = await PerDayAsync(messages.Where(m => m.Direction == MessageDirection.Inbound).Select(m => m.CreatedAt), from, to, zone, ct);

        var connection = await ConnectionAsync(ids, periods, from, now, ct);
        var dayRows = calendar.Select((d, i) => new HealthDay(d, sent.GetValueOrDefault(d), delivered.GetValueOrDefault(d), read.GetValueOrDefault(d),
            failed.GetValueOrDefault(d), received.GetValueOrDefault(d), connection[i].Share, connection[i].Reconnections)).ToList();
        var all = new Uptime.Period(Sum(connection, p => p.Connected), Sum(connection, p => p.Measured), connection.Sum(p => p.Reconnections));
        var totals = new HealthTotals(dayRows.Sum(d => d.Sent), dayRows.Sum(d => d.Delivered), dayRows.Sum(d => d.Read), dayRows.Sum(d => d.Failed),
            dayRows.Sum(d => d.Received), Rate(dayRows.Sum(d => d.Delivered), dayRows.Sum(d => d.Sent)), Rate(dayRows.Sum(d => d.Read), dayRows.Sum(d => d.Delivered)),
            all.Share, all.Reconnections);

        var settings = await MessagingSettingsService.LoadAsync(db, tenantId, ct);
        var todayText = today.ToString("yyyy-MM-dd");
        var limits = sessions.Select(s => new LimitUse(s.Id, s.DisplayName, s.SentTodayDate == todayText ? s.SentToday : 0,
            Governor.DailyLimit(s, settings, zone, now), Governor.WarmupDay(s, settings, zone, now), settings.WarmupDays)).ToList();
        return new HealthReport(sessionId, zoneId, dayRows, totals, limits);
    }

    /// <summary>
    /// Counts per local day. The database groups by UTC hour (a translation both providers share) and the hours are
    /// placed in the tenant's days here, so daylight-saving changes land on the right day.
    /// </summary>
    private static async Task<Dictionary<DateOnly, int>> PerDayAsync(IQueryable<DateTime> moments, DateTime from, DateTime to, TimeZoneInfo zone, CancellationToken ct)
    {
        var hours = await moments.Where(t => t >= from && t < to)
            .GroupBy(t => new { t.Year, t.Month, t.Day, t.Hour })
            .Select(g => new { g.Key.Year, g.Key.Month, g.Key.Day, g.Key.Hour, Count = g.Count() })
            .ToListAsync(ct);
        var days = new Dictionary<DateOnly, int>();
        foreach (var h in hours)
        {
            var day = DateOnly.FromDateTime(TimeZoneInfo.ConvertTimeFromUtc(new DateTime(h.Year, h.Month, h.Day, h.Hour, 0, 0, DateTimeKind.Utc), zone));
            days[day] = days.GetValueOrDefault(day) + h.Count;
        }
        return days;
    }

    /// <summary>Every number's connected time and reconnections per period, added up.</summary>
    private async Task<IReadOnlyList<Uptime.Period>> ConnectionAsync(List<Guid> ids, IReadOnlyList<(DateTime Start, DateTime End)> periods, DateTime from, DateTime now, CancellationToken ct)
    {
        var events = db.SessionEvents.AsNoTracking().Where(e => ids.Contains(e.SessionId));
        var firstConnected = await events.Where(e => e.ToState == SessionState.Connected).GroupBy(e => e.SessionId)
            .Select(g => new { g.Key, At = g.Min(e => e.At) }).ToDictionaryAsync(x => x.Key, x => x.At, ct);
        var openingIds = await events.Where(e => e.At < from).GroupBy(e => e.SessionId).Select(g => g.Max(e => e.Id)).ToListAsync(ct);
        var rows = await events.Where(e => e.At >= from || openingIds.Contains(e.Id))
            .Select(e => new { e.SessionId, Entry = new TimelineEntry(e.At, e.FromState, e.ToState, e.Cause, e.Reason, null) }).ToListAsync(ct);

        var total = periods.Select(_ => new Uptime.Period(TimeSpan.Zero, TimeSpan.Zero, 0)).ToArray();
        foreach (var number in rows.GroupBy(r => r.SessionId))
        {
            var own = Uptime.PerPeriod(number.Select(r => r.Entry), firstConnected.TryGetValue(number.Key, out var first) ? first : null, periods, now);
            for (var i = 0; i < total.Length; i++)
                total[i] = new Uptime.Period(total[i].Connected + own[i].Connected, total[i].Measured + own[i].Measured, total[i].Reconnections + own[i].Reconnections);
        }
        return total;
    }

    private static double? Rate(int part, int whole) => whole > 0 ? Math.Min(1, (double)part / whole) : null;

    private static TimeSpan Sum(IEnumerable<Uptime.Period> periods, Func<Uptime.Period, TimeSpan> pick) =>
        periods.Aggregate(TimeSpan.Zero, (sum, p) => sum + pick(p));
}
