using ZapHub.Platform;
namespace ZapHub.Gateways;

/// <summary>What a send does after a failed gateway call.</summary>
public enum OnSend
{
    /// <summary>Try again later with backoff (the attempt counts).</summary>
    Retry,
    /// <summary>Wait: the number cannot send until it is connected again or the operator fixes the gateway.</summary>
    Hold,
    /// <summary>Give up: retrying cannot help.</summary>
    Fail,
}

/// <summary>
/// The one meaning of each gateway failure for ZapHub: the problem a person or API client is shown (code, status,
/// English detail), the message category stored on a send, what the send does next, and whether the failure says the
/// number is not connected (it then leaves Connected at once and is reconciled).
/// </summary>
public sealed record GatewayFailureOutcome(string ProblemCode, int Status, string Detail, string SendCategory, OnSend OnSend, bool NumberDown)
{
    public static GatewayFailureOutcome Of(GatewayException ex) => ex.Failure switch
    {
        GatewayFailure.Transient => new("gateway_unavailable", 503, "The WhatsApp gateway did not answer. Try again in a moment.", "gateway_unavailable", OnSend.Retry, false),
        GatewayFailure.RateLimited => new("gateway_rate_limited", 503, "WhatsApp is limiting this number. Try again in a moment.", "rate_limited", OnSend.Retry, false),
        GatewayFailure.Auth => new("gateway_auth", 502, "The WhatsApp gateway refused ZapHub's credentials; the operator must check the gateway settings.", "gateway_auth", OnSend.Hold, false),
        GatewayFailure.Configuration => new("gateway_config", 502, ex.Message, "gateway_config", OnSend.Hold, false),
        GatewayFailure.NotConnected => new("session_not_connected", 409, "This number is not connected on the gateway; connect it again.", "session_not_connected", OnSend.Hold, true),
        GatewayFailure.InstanceMissing => new("gateway_lost_instance", 409, "The gateway no longer knows this number; connect it again.", "gateway_lost_instance", OnSend.Hold, true),
        GatewayFailure.InvalidNumber => new("number_not_on_whatsapp", 400, "This number does not use WhatsApp.", "invalid_number", OnSend.Fail, false),
        GatewayFailure.NotStopped => new("gateway_stop_failed", 502, "The gateway still runs this number after it was asked to stop. Try again; if it repeats, tell the operator.", "gateway_unavailable", OnSend.Retry, false),
        _ => new("gateway_error", 502, "The WhatsApp gateway failed: " + ex.Message, "rejected", OnSend.Fail, false),
    };

    /// <summary>The failure as a number's last error: the gateway's own words in English, this meaning in Portuguese.</summary>
    public static string NoteOf(GatewayException ex) =>
        Note.Of("gateway_failed", ("problem", Note.Key("error." + Of(ex).ProblemCode)), ("message", ex.Message), ("failure", ex.Failure)).Store();

    /// <summary>A last error that said the gateway could not be reached, which its next answer proves wrong.</summary>
    public static bool IsUnreachableNote(string? lastError) =>
        Note.Read(lastError) is { Code: "gateway_failed" } note && note.Values.GetValueOrDefault("failure") == nameof(GatewayFailure.Transient);
}
