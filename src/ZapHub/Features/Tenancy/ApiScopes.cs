namespace ZapHub.Features.Tenancy;

public static class ApiScopes
{
    public const string SessionsRead = "sessions:read";
    public const string SessionsControl = "sessions:control";
    public const string MessagesSend = "messages:send";
    public const string WebhooksManage = "webhooks:manage";
    public const string EventsRead = "events:read";

    public static readonly IReadOnlyList<string> All = [SessionsRead, SessionsControl, MessagesSend, WebhooksManage, EventsRead];
}
