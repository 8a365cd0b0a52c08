using ZapHub.Features.Sessions;
using ZapHub.Gateways;

namespace ZapHub.Features.Messages;

/// <summary>What the governor allows for one number right now.</summary>
public abstract record Verdict
{
    /// <summary>Send now; count against <paramref name="DailyLimit"/> (null: no limit), then keep the number quiet for <paramref name="Gap"/>.</summary>
    public sealed record Go(int? DailyLimit, TimeSpan Gap, TimeSpan TypingDelay) : Verdict;

    /// <summary>Nothing goes out on this number before <paramref name="Until"/>; <paramref name="Reason"/> is shown on the waiting messages.</summary>
    public sealed record Wait(DateTime Until, string Reason) : Verdict;

    /// <summary>The number cannot send at all (not connected, disabled): routing decides.</summary>
    public sealed record Unavailable(string Reason) : Verdict;
}

/// <summary>
/// The pacing rules of one number, in one place and free of I/O so each rule is tested on its own: quiet hours and
/// the daily limit are counted in the tenant's own day, warm-up lowers the limit of numbers linked recently, and a
/// pause (rate limit, restriction) stops the number until it ends or a person resumes it.
/// </summary>
public static class Governor
{
    public static class Reasons
    {
        public const string QuietHours = "quiet_hours";
        public const string DailyLimit = "daily_limit";
        public const string Paused = "paused";
        /// <summary>The number's previous send has not ended (or its node died during it and it is not resolved yet).</summary>
        public const string SendInFlight = "send_in_flight";
        public const string SessionDown = "session_disconnected";
        public const string SessionDisabled = "session_disabled";
        public const string SessionRemoved = "session_removed";
        /// <summary>The number's gateway server does not answer (the reconciler marked it): no call is made until it does.</summary>
        public const string GatewayDown = "gateway_unreachable";
    }

    public static Verdict Decide(Session session, MessagingSettings settings, TimeZoneInfo zone, DateTime now, Random random)
    {
        if (!session.Enabled || session.State == SessionState.Disabled) return new Verdict.Unavailable(Reasons.SessionDisabled);
        if (session.State != SessionState.Connected) return new Verdict.Unavailable(Reasons.SessionDown);
        if (session.PausedUntil is { } paused && paused > now) return new Verdict.Wait(paused, Reasons.Paused);

        var local = TimeZoneInfo.ConvertTimeFromUtc(now, zone);
        if (QuietUntil(settings, local) is { } quietEnd) return new Verdict.Wait(ToUtc(quietEnd, zone), Reasons.QuietHours);

        var limit = DailyLimit(session, settings, zone, now);
        var today = DateOnly.FromDateTime(local).ToString("yyyy-MM-dd");
        if (limit is { } max && session.SentTodayDate == today && session.SentToday >= max)
            return new Verdict.Wait(ToUtc(local.Date.AddDays(1), zone), Reasons.DailyLimit);

        var gap = TimeSpan.FromMilliseconds(settings.MinGapMs + (settings.JitterMs > 0 ? random.Next(settings.JitterMs + 1) : 0));
        return new Verdict.Go(limit, gap, TimeSpan.FromMilliseconds(settings.TypingDelayMs));
    }

    /// <summary>The number's own limit, lowered during warm-up: the first day's allowance doubling each local day since it was linked.</summary>
    public static int? DailyLimit(Session session, MessagingSettings settings, TimeZoneInfo zone, DateTime now)
    {
        int? limit = session.DailyLimit;
        if (WarmupDay(session, settings, zone, now) is not { } day) return limit;
        var warm = (int)Math.Min(int.MaxValue, (long)settings.WarmupFirstDayLimit << Math.Min(day - 1, 20));
        return limit is { } own ? Math.Min(own, warm) : warm;
    }

    /// <summary>Which local day of warm-up the number is on (1 the day it was linked); null once warm-up is over.</summary>
    public static int? WarmupDay(Session session, MessagingSettings settings, TimeZoneInfo zone, DateTime now)
    {
        if (settings.WarmupDays <= 0 || session.LinkedAt is not { } linked) return null;
        var day = (TimeZoneInfo.ConvertTimeFromUtc(now, zone).Date - TimeZoneInfo.ConvertTimeFromUtc(linked, zone).Date).Days;
        return day < settings.WarmupDays ? day + 1 : null;
    }

    /// <summary>When quiet hours hold at <paramref name="local"/>, the local moment they end; the window may wrap past midnight.</summary>
    public static DateTime? QuietUntil(MessagingSettings settings, DateTime local)
    {
        if (settings.QuietFrom is not { } from || settings.QuietUntil is not { } until || from == until) return null;
        var time = TimeOnly.FromDateTime(local);
        if (from < until)
            return time >= from && time < until ? local.Date + until.ToTimeSpan() : null;
        if (time >= from) return local.Date.AddDays(1) + until.ToTimeSpan();
        return time < until ? local.Date + until.ToTimeSpan() : null;
    }

    /// <summary>A local wall-clock time to UTC; a time skipped by a daylight-saving jump moves to the first valid minute after it.</summary>
    public static DateTime ToUtc(DateTime local, TimeZoneInfo zone)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        while (zone.IsInvalidTime(local)) local = local.AddMinutes(1);
        return TimeZoneInfo.ConvertTimeToUtc(local, zone);
    }

    public static string Today(TimeZoneInfo zone, DateTime now) => TimeZoneInfo.ConvertTimeFromUtc(now, zone).ToString("yyyy-MM-dd");
}
