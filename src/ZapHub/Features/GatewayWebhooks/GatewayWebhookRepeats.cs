using System.Collections.Concurrent;

namespace ZapHub.Features.GatewayWebhooks;

/// <summary>
/// The last stored webhook of each session that only repeated a transitional state (its provider's repeat key). The same
/// key again, with nothing else stored in between, is a repeat: acknowledged, not stored, except once a window so that
/// the session's health mark stays fresh. Per node; each node collapses what it receives.
/// </summary>
public sealed class GatewayWebhookRepeats
{
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(30);
    private readonly ConcurrentDictionary<Guid, (string Key, DateTime At)> last = new();

    public bool IsRepeat(Guid sessionId, string? key, DateTime now) =>
        key is not null && last.TryGetValue(sessionId, out var seen) && seen.Key == key && now - seen.At < Window;

    public void Stored(Guid sessionId, string? key, DateTime now)
    {
        if (key is null) last.TryRemove(sessionId, out _);
        else last[sessionId] = (key, now);
    }
}
