using ZapHub.Features.Sessions;
using ZapHub.Gateways;

namespace ZapHub.UnitTests;

public class UptimeTests
{
    private static readonly DateTime Now = new(2026, 12, 2, 12, 0, 0, DateTimeKind.Utc);

    private static TimelineEntry At(double hoursAgo, SessionState to) => new(Now.AddHours(-hoursAgo), SessionState.Created, to, "user", null, null);

    [Fact]
    public void ANumberAddedMinutesAgoIsMeasuredFromItsFirstConnectionNotFromTheScanning()
    {
        var up = Uptime.Of([At(0.5, SessionState.Starting), At(0.4, SessionState.AwaitingScan), At(0.35, SessionState.Connected)], Now, TimeSpan.FromDays(7));
        Assert.Equal(1.0, up!.Value.Share);
        Assert.Equal(Now.AddHours(-0.35), up.Value.Since);
    }

    [Fact]
    public void ANumberThatNeverConnectedHasNoFigure() =>
        Assert.Null(Uptime.Of([At(2, SessionState.Starting), At(1, SessionState.Failed)], Now, TimeSpan.FromDays(7)));

    [Fact]
    public void DropsCountAgainstItWithinTheWindowOnly()
    {
        // Connected 10 days ago, down for the last 42 hours of the 7-day window.
        var up = Uptime.Of([At(240, SessionState.Connected), At(42, SessionState.Disconnected)], Now, TimeSpan.FromDays(7));
        Assert.Equal(Now.AddDays(-7), up!.Value.Since);
        Assert.Equal(0.75, up.Value.Share, 3);
    }
}
