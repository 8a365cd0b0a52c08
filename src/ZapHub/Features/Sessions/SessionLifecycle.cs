using ZapHub.Gateways;

namespace ZapHub.Features.Sessions;

/// <summary>
/// The normalized state machine. Pure: it changes the session row and returns the transition to record;
/// the caller saves both. Every provider's signals go through here.
/// </summary>
public static class SessionLifecycle
{
    public static SessionEvent? Apply(Session s, StateSignal signal, string cause, DateTime now, long? gatewayEventId = null)
    {
        s.RawState = signal.RawState;
        // Switched off by a person: gateway chatter does not turn it back on.
        if (s.State == SessionState.Disabled) return null;
        // Failed waits for a person: late gateway chatter (an "open" after a reconnect loop) must not undo it.
        if (s.State == SessionState.Failed && cause != Causes.User) return null;
        // After a scan a gateway may still report "connecting" for a moment: not a step back.
        if (s.State == SessionState.Pairing && signal.State == SessionState.Starting) return null;
        // A late "connecting" must not hide a QR that is on screen.
        if (s.State == SessionState.AwaitingScan && signal.State == SessionState.Starting) return null;
        // Only a person (or a drop from Connected) starts an attempt: a gateway's own "connecting" for a number nobody is
        // connecting (Evolution's socket loop after ZapHub ended the attempt, a restart replaying its instances) is not one,
        // and must not restart the attempt's clock.
        if (signal.State == SessionState.Starting && cause != Causes.User && s.State is SessionState.Created or SessionState.Disconnected) return null;
        // While an attempt runs, "closed, retrying by itself" (Evolution reads `close` between the sockets of its loop) does
        // not end it, nor does a webhook saying "instance removed" (ZapHub removes it itself when it ends a looping attempt;
        // one removed by anyone else is found missing by the reconciler, whose word does end it): the deadline does.
        if (s.State == SessionState.Starting && signal.State == SessionState.Disconnected && cause != Causes.User
            && (signal.Reason == SessionReasons.ConnectionLost || (signal.Reason == SessionReasons.GatewayLostInstance && cause != Causes.Reconciler))) return null;
        // A code on screen whose connection closes dropped nothing: the attempt is over (Evolution after its last code, its
        // "refused" webhook lost) and the owner must connect again, not wait for a reconnection.
        if (s.State == SessionState.AwaitingScan && signal is { State: SessionState.Disconnected, Reason: SessionReasons.ConnectionLost })
            signal = signal with { Reason = SessionReasons.QrExpired };

        var from = s.State;
        if (signal.State == SessionState.Connected)
        {
            // WPPConnect's webhooks never carry the account's own number; a pairing-code login names it.
            var phone = signal.Phone ?? s.Phone ?? s.PairingPhone;
            // Warm-up counts from the first link of this phone number, not from each reconnect.
            if (s.LinkedAt is null || (s.Phone is not null && phone != s.Phone)) s.LinkedAt = now;
            s.Phone = phone;
            s.ProfileName = signal.ProfileName ?? s.ProfileName;
        }
        if (from == signal.State) return null;

        s.State = signal.State;
        s.StateReason = signal.Reason;
        s.UpdatedAt = now;
        switch (signal.State)
        {
            case SessionState.Starting:
                s.StartingSince ??= now;
                break;
            case SessionState.Connected:
                s.ConnectedAt = now;
                s.StartingSince = null;
                s.LastError = null;
                ClearCodes(s);
                break;
            case SessionState.Disconnected or SessionState.Failed:
                if (from == SessionState.Connected) s.DisconnectedAt = now;
                s.StartingSince = null;
                ClearCodes(s);
                break;
            case SessionState.Pairing:
                ClearCodes(s);
                break;
        }
        return new SessionEvent
        {
            TenantId = s.TenantId, SessionId = s.Id, At = now, FromState = from, ToState = signal.State,
            Cause = cause, Reason = signal.Reason, RawState = signal.RawState, GatewayEventId = gatewayEventId,
        };
    }

    /// <summary>A new code to show. Moves a starting (or idle) session to AwaitingScan and counts the codes of this attempt.</summary>
    public static SessionEvent? ApplyQr(Session s, QrSignal qr, TimeSpan qrLifetime, string cause, DateTime now, long? gatewayEventId = null)
    {
        if (s.State is SessionState.Connected or SessionState.Pairing or SessionState.Disabled or SessionState.Failed) return null;
        // The same code again (the connect answer and its webhook) changes nothing once it is on screen.
        if (qr.Code is not null && qr.Code == s.QrCode && s.State == SessionState.AwaitingScan) return null;
        var newCode = qr.Code is not null && qr.Code != s.QrCode;
        s.QrCode = qr.Code ?? s.QrCode;
        s.QrImage = qr.ImageDataUrl ?? s.QrImage;
        s.PairingCode = qr.PairingCode ?? s.PairingCode;
        s.QrExpiresAt = now + qrLifetime;
        if (newCode) s.QrRefreshCount++;
        s.UpdatedAt = now;
        return Apply(s, new StateSignal(qr.RawEvent, SessionState.AwaitingScan, qr.RawEvent), cause, now, gatewayEventId);
    }

    /// <summary>A connected session that dropped without anyone asking (not a logout or unlink).</summary>
    public static bool IsDrop(SessionEvent e) =>
        e.FromState == SessionState.Connected && e.ToState is SessionState.Disconnected or SessionState.Starting
        && e.Reason is not (SessionReasons.LoggedOut or SessionReasons.UnlinkedFromPhone) && e.Cause != Causes.User;

    private static void ClearCodes(Session s)
    {
        s.QrCode = null;
        s.QrImage = null;
        s.QrExpiresAt = null;
        s.PairingCode = null;
    }
}

public static class Causes
{
    public const string User = "user";
    public const string Webhook = "webhook";
    public const string Reconciler = "reconciler";
    public const string Timeout = "timeout";
    public const string Breaker = "breaker";
    /// <summary>A gateway's answer to a send or another call said the number is not connected.</summary>
    public const string Send = "send";
}
