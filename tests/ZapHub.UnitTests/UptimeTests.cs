using ZapHub.Features.Sessions;
using ZapHub.Gateways;

namespace ZapHub.UnitTests;

public class UptimeTests
{
    private static readonly DateTime Now = new(2026, 12, 2, 12, 0, 0, DateTimeKind.Utc);

    private static TimelineEntry At(double hoursAgo, SessionState to) => new(Now.AddHours(-hoursAgo), SessionState.Created, to, "user", null, null);

    /// <summary>Whole days ending at midnight UTC: the last one is today, measured up to <see cref="Now"/>.</summary>
    private static (DateTime, DateTime)[] Days(int count) =>
        Enumerable.Range(0, count).Select(i => (Now.Date.AddDays(i - count + 1), Now.Date.AddDays(i - count + 2))).ToArray();

    [Fact]
    public void ANumberAddedMinutesAgoIsMeasuredFromItsFirstConnectionNotFromTheScanning()
    {
        var firstConnected = Now.AddHours(-0.35);
        var today = Uptime.PerPeriod([At(0.5, SessionState.Starting), At(0.4, SessionState.AwaitingScan), At(0.35, SessionState.Connected)],
            firstConnected, Days(1), Now).Single();
        Assert.Equal(1.0, today.Share);
        Assert.Equal(TimeSpan.FromHours(0.35), today.Measured);
        Assert.Equal(0, today.Reconnections);
    }

    [Fact]
    public void ANumberThatNeverConnectedHasNoFigure() =>
        Assert.All(Uptime.PerPeriod([At(2, SessionState.Starting), At(1, SessionState.Failed)], null, Days(3), Now), d => Assert.Null(d.Share));

    [Fact]
    public void EachDayCountsItsOwnDropsAndReturns()
    {
        // Connected long ago (the entry before the window tells the state the first day opens in); yesterday it dropped
        // for 6 hours from 06:00 and came back; today it dropped at 06:00 and is still down at noon.
        var yesterday = Now.Date.AddDays(-1);
        var timeline = new[]
        {
            new TimelineEntry(Now.AddDays(-20), SessionState.AwaitingScan, SessionState.Connected, "scan", null, null),
            new TimelineEntry(yesterday.AddHours(6), SessionState.Connected, SessionState.Disconnected, "gateway", null, null),
            new TimelineEntry(yesterday.AddHours(12), SessionState.Disconnected, SessionState.Connected, "gateway", null, null),
            new TimelineEntry(Now.Date.AddHours(6), SessionState.Connected, SessionState.Disconnected, "gateway", null, null),
        };
        var days = Uptime.PerPeriod(timeline, Now.AddDays(-20), Days(3), Now);

        Assert.Equal(1.0, days[0].Share);
        Assert.Equal(0.75, days[1].Share!.Value, 3);
        Assert.Equal(1, days[1].Reconnections);
        Assert.Equal(0.5, days[2].Share!.Value, 3);
        Assert.Equal(TimeSpan.FromHours(12), days[2].Measured);
        Assert.Equal(0, days[2].Reconnections);
    }

    [Fact]
    public void DaysBeforeTheFirstConnectionAreNotMeasured()
    {
        var first = Now.Date.AddDays(-1).AddHours(18);
        var days = Uptime.PerPeriod([new TimelineEntry(first, SessionState.AwaitingScan, SessionState.Connected, "scan", null, null)], first, Days(3), Now);
        Assert.Null(days[0].Share);
        Assert.Equal(TimeSpan.FromHours(6), days[1].Measured);
        Assert.Equal(1.0, days[1].Share);
        Assert.Equal(0, days[1].Reconnections);
    }
}
