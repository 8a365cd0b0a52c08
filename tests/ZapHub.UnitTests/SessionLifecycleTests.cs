using ZapHub.Features.Sessions;
using ZapHub.Gateways;

namespace ZapHub.UnitTests;

public class SessionLifecycleTests
{
    private static readonly DateTime Now = new(2026, 11, 22, 12, 0, 0, DateTimeKind.Utc);

    private static Session NewSession(SessionState state = SessionState.Created) => new()
    {
        DisplayName = "Recepção", InstanceName = "zhabc", ProtectedCallbackSecret = "x", CallbackSecretHash = [], State = state,
    };

    private static StateSignal To(SessionState state, string? reason = null, string? phone = null) => new("test", state, "raw", reason, phone, "Perfil");

    [Fact]
    public void ATransitionIsRecordedWithCauseAndReason()
    {
        var s = NewSession(SessionState.Connected);
        var e = SessionLifecycle.Apply(s, To(SessionState.Disconnected, SessionReasons.LoggedOut), Causes.Webhook, Now);
        Assert.NotNull(e);
        Assert.Equal((SessionState.Connected, SessionState.Disconnected, SessionReasons.LoggedOut), (e.FromState, e.ToState, e.Reason));
        Assert.Equal(Now, s.DisconnectedAt);
    }

    [Fact]
    public void ConnectingFillsPhoneAndProfileAndClearsTheQr()
    {
        var s = NewSession(SessionState.AwaitingScan);
        s.QrCode = "2@x";
        SessionLifecycle.Apply(s, To(SessionState.Connected, phone: "+5511999990001"), Causes.Webhook, Now);
        Assert.Equal(("+5511999990001", "Perfil"), (s.Phone, s.ProfileName));
        Assert.Null(s.QrCode);
        Assert.Equal(Now, s.ConnectedAt);
    }

    [Fact]
    public void SameStateRecordsNothing() => Assert.Null(SessionLifecycle.Apply(NewSession(SessionState.Connected), To(SessionState.Connected), Causes.Webhook, Now));

    [Fact]
    public void ADisabledSessionIgnoresTheGateway() =>
        Assert.Null(SessionLifecycle.Apply(NewSession(SessionState.Disabled), To(SessionState.Connected), Causes.Webhook, Now));

    [Fact]
    public void FailedWaitsForAPerson()
    {
        var s = NewSession(SessionState.Failed);
        Assert.Null(SessionLifecycle.Apply(s, To(SessionState.Connected), Causes.Webhook, Now));
        Assert.NotNull(SessionLifecycle.Apply(s, To(SessionState.Starting), Causes.User, Now));
    }

    [Fact]
    public void ALateConnectingDoesNotHideAQrOnScreen()
    {
        var s = NewSession(SessionState.AwaitingScan);
        Assert.Null(SessionLifecycle.Apply(s, To(SessionState.Starting), Causes.Webhook, Now));
        Assert.Equal(SessionState.AwaitingScan, s.State);
    }

    [Fact]
    public void QrCodesCountAndExpirePerProvider()
    {
        var s = NewSession(SessionState.Starting);
        var evolution = new ZapHub.Gateways.Evolution.EvolutionProvider().QrLifetime;
        var wpp = new ZapHub.Gateways.WppConnect.WppConnectProvider().QrLifetime;
        SessionLifecycle.ApplyQr(s, new QrSignal("qr", "2@a", "data:x", null), evolution, Causes.Webhook, Now);
        Assert.Equal((SessionState.AwaitingScan, 1, Now.AddSeconds(45)), (s.State, s.QrRefreshCount, s.QrExpiresAt));
        Assert.Null(SessionLifecycle.ApplyQr(s, new QrSignal("qr", "2@a", "data:x", null), evolution, Causes.Webhook, Now));
        SessionLifecycle.ApplyQr(s, new QrSignal("qr", "2@b", "data:y", null), wpp, Causes.Webhook, Now);
        Assert.Equal((2, Now.AddSeconds(20)), (s.QrRefreshCount, s.QrExpiresAt));
    }

    [Fact]
    public void AQrForAConnectedSessionIsStale() =>
        Assert.Null(SessionLifecycle.ApplyQr(NewSession(SessionState.Connected), new QrSignal("qr", "2@a", null, null), TimeSpan.FromSeconds(20), Causes.Webhook, Now));

    [Theory]
    [InlineData(SessionState.Disconnected)]
    [InlineData(SessionState.Created)]
    public void AGatewaysOwnConnectingStartsNoAttempt(SessionState idle)
    {
        var s = NewSession(idle);
        Assert.Null(SessionLifecycle.Apply(s, To(SessionState.Starting), Causes.Webhook, Now));
        Assert.Null(SessionLifecycle.Apply(s, To(SessionState.Starting), Causes.Reconciler, Now));
        Assert.Equal((idle, null), (s.State, s.StartingSince));
        Assert.NotNull(SessionLifecycle.Apply(s, To(SessionState.Starting), Causes.User, Now));
    }

    [Fact]
    public void AnAttemptsClockIsNotResetByAGatewayLoopingBetweenCloseAndConnecting()
    {
        var s = NewSession(SessionState.Disconnected);
        SessionLifecycle.Apply(s, To(SessionState.Starting), Causes.User, Now);
        for (var i = 1; i <= 20; i++)
        {
            Assert.Null(SessionLifecycle.Apply(s, To(SessionState.Disconnected, SessionReasons.ConnectionLost), Causes.Reconciler, Now.AddSeconds(i)));
            Assert.Null(SessionLifecycle.Apply(s, To(SessionState.Starting), Causes.Webhook, Now.AddSeconds(i)));
        }
        Assert.Equal((SessionState.Starting, Now), (s.State, s.StartingSince));
        // A real end of the attempt still ends it.
        Assert.NotNull(SessionLifecycle.Apply(s, To(SessionState.Disconnected, SessionReasons.QrLimit), Causes.Webhook, Now.AddSeconds(30)));
    }

    [Fact]
    public void AnInstanceRemovedDuringAnAttemptEndsItOnlyWhenTheReconcilerFoundItMissing()
    {
        var s = NewSession(SessionState.Starting);
        s.StartingSince = Now;
        Assert.Null(SessionLifecycle.Apply(s, To(SessionState.Disconnected, SessionReasons.GatewayLostInstance), $"{Causes.Webhook}:instance.delete", Now));
        Assert.NotNull(SessionLifecycle.Apply(s, To(SessionState.Disconnected, SessionReasons.GatewayLostInstance), Causes.Reconciler, Now));
        Assert.Equal((SessionState.Disconnected, null), (s.State, s.StartingSince));
    }

    [Theory]
    [InlineData(Causes.Webhook)]
    [InlineData(Causes.Reconciler)]
    public void ACodeOnScreenWhoseConnectionClosesEndsTheAttemptAsExpiredNotAsADrop(string cause)
    {
        var s = NewSession(SessionState.AwaitingScan);
        var ended = SessionLifecycle.Apply(s, To(SessionState.Disconnected, SessionReasons.ConnectionLost), cause, Now);
        Assert.Equal((SessionState.Disconnected, SessionReasons.QrExpired), (s.State, s.StateReason));
        Assert.Equal(SessionReasons.QrExpired, ended!.Reason);
        // A connected number that loses its connection did drop.
        var connected = NewSession(SessionState.Connected);
        SessionLifecycle.Apply(connected, To(SessionState.Disconnected, SessionReasons.ConnectionLost), cause, Now);
        Assert.Equal(SessionReasons.ConnectionLost, connected.StateReason);
    }

    [Fact]
    public void ADropFromConnectedStartsTheGatewaysOwnAttemptWithItsClock()
    {
        var s = NewSession(SessionState.Connected);
        Assert.NotNull(SessionLifecycle.Apply(s, To(SessionState.Starting), Causes.Webhook, Now));
        Assert.Equal((SessionState.Starting, Now), (s.State, s.StartingSince));
    }

    [Theory]
    [InlineData(SessionReasons.ConnectionLost, Causes.Webhook, true)]
    [InlineData(SessionReasons.ServerClosed, Causes.Reconciler, true)]
    [InlineData(SessionReasons.LoggedOut, Causes.Webhook, false)]
    [InlineData(SessionReasons.UnlinkedFromPhone, Causes.Webhook, false)]
    [InlineData(SessionReasons.ConnectionLost, Causes.User, false)]
    public void OnlyUnaskedDropsCountTowardsTheBreaker(string reason, string cause, bool isDrop) =>
        Assert.Equal(isDrop, SessionLifecycle.IsDrop(new SessionEvent { FromState = SessionState.Connected, ToState = SessionState.Disconnected, Reason = reason, Cause = cause }));
}
