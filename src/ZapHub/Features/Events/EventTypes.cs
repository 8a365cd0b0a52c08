namespace ZapHub.Features.Events;

/// <summary>The event catalogue (docs/events.md): stable names, versioned by adding fields, never by changing them.</summary>
public static class EventTypes
{
    public const string SessionCreated = "session.created";
    public const string SessionDeleted = "session.deleted";
    public const string SessionStateChanged = "session.state_changed";
    public const string SessionQrUpdated = "session.qr_updated";
    public const string MessageStatusChanged = "message.status_changed";
    public const string MessageFailed = "message.failed";
    public const string MessageReceived = "message.received";
    public const string ContactOptedOut = "contact.opted_out";
    public const string ContactOptedIn = "contact.opted_in";
    public const string WebhookTest = "webhook.test";

    public static readonly IReadOnlyList<string> All =
    [
        SessionCreated, SessionDeleted, SessionStateChanged, SessionQrUpdated,
        MessageStatusChanged, MessageFailed, MessageReceived, ContactOptedOut, ContactOptedIn, WebhookTest,
    ];

    public static bool IsKnown(string type) => All.Contains(type);
}
