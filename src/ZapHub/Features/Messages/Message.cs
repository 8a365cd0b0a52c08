using ZapHub.Data;

namespace ZapHub.Features.Messages;

public enum MessageDirection { Outbound, Inbound }

/// <summary>
/// Where a message is in its life. Outbound: Scheduled or Queued → Sending → Sent → Delivered → Read, or Failed;
/// Held while its number is down, InDoubt when a node died during the send call, Canceled by a person.
/// Inbound messages are Received.
/// </summary>
public enum MessageStatus { Scheduled, Queued, Held, Sending, InDoubt, Sent, Delivered, Read, Failed, Canceled, Received }

/// <summary>Marketing sends stop for contacts who opted out; transactional ones (confirmations, reminders) still go.</summary>
public enum MessageClass { Transactional, Marketing }

/// <summary>How the sending number was chosen: a named one, the tenant's primary, or any connected one.</summary>
public enum MessageRoute { Session, Primary, Any }

public enum MediaKind { Image, Document, Audio, Video }

public sealed class Message : ITenantOwned
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid TenantId { get; set; }
    public MessageDirection Direction { get; set; }
    public MessageStatus Status { get; set; }

    /// <summary>A stable code saying why the message waits or failed (quiet_hours, daily_limit, session_disconnected…).</summary>
    public string? StatusReason { get; set; }

    public Guid? SessionId { get; set; }
    public MessageRoute Route { get; set; }

    /// <summary>The other side: E.164 for a phone, or the gateway's id of a group or hidden (LID) contact.</summary>
    public required string Peer { get; set; }
    public string? PeerName { get; set; }
    public Guid? ContactId { get; set; }
    public MessageClass Class { get; set; }

    public string? Text { get; set; }
    public MediaKind? MediaKind { get; set; }
    public string? MediaUrl { get; set; }
    public Guid? MediaFileId { get; set; }
    public string? MediaFileName { get; set; }
    public string? MediaMimeType { get; set; }
    public string? TemplateName { get; set; }

    /// <summary>The template's variables as JSON, kept to show what was filled in.</summary>
    public string? TemplateVariables { get; set; }

    public string? IdempotencyKey { get; set; }
    public byte[]? RequestHash { get; set; }

    /// <summary>When the dispatcher may next look at it: the scheduled time, a retry's time, the end of quiet hours.</summary>
    public DateTime DueAt { get; set; }
    public DateTime? HeldSince { get; set; }
    public int Attempts { get; set; }
    public string? LeaseOwner { get; set; }
    public DateTime? LeaseUntil { get; set; }

    public string? ProviderMessageId { get; set; }

    /// <summary>A node died while sending it once: the recipient may have it twice (or, held, not at all yet).</summary>
    public bool WasInDoubt { get; set; }
    public string? FailureCategory { get; set; }

    public DateTime CreatedAt { get; set; }
    public DateTime? SentAt { get; set; }
    public DateTime? DeliveredAt { get; set; }
    public DateTime? ReadAt { get; set; }
    public DateTime? FailedAt { get; set; }
    public DateTime UpdatedAt { get; set; }

    /// <summary>Every writer bumps it, the dispatcher's SQL included, so a stale read never overwrites a newer status.</summary>
    public int Version { get; set; }

    public bool IsFinal => Status is MessageStatus.Delivered or MessageStatus.Read or MessageStatus.Failed or MessageStatus.Canceled or MessageStatus.Received;
}

/// <summary>A message's timeline: each status change and each send attempt.</summary>
public sealed class MessageEvent : ITenantOwned
{
    public long Id { get; set; }
    public Guid TenantId { get; set; }
    public Guid MessageId { get; set; }
    public DateTime At { get; set; }
    public MessageStatus Status { get; set; }
    public int? Attempt { get; set; }
    public string? Detail { get; set; }

    /// <summary>The node that made the attempt: with several nodes, where to look in the logs.</summary>
    public string? Node { get; set; }
}

/// <summary>A receipt that came before ZapHub knew the provider id (the send call had not returned yet); applied once it does.</summary>
public sealed class PendingReceipt : ITenantOwned
{
    public long Id { get; set; }
    public Guid TenantId { get; set; }
    public Guid SessionId { get; set; }
    public required string ProviderMessageId { get; set; }
    public MessageStatus Status { get; set; }
    public DateTime At { get; set; }
}

public sealed class Contact : ITenantOwned
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid TenantId { get; set; }

    /// <summary>E.164, or the gateway's id for a group or hidden contact.</summary>
    public required string Peer { get; set; }
    public string? Name { get; set; }
    public bool OptedOut { get; set; }
    public DateTime? OptedOutAt { get; set; }
    public string? OptOutText { get; set; }
    public DateTime? LastInboundAt { get; set; }
    public DateTime? LastOutboundAt { get; set; }
    public DateTime CreatedAt { get; set; }
}

public sealed class Template : ITenantOwned
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid TenantId { get; set; }
    public required string Name { get; set; }
    public required string Body { get; set; }
    public MessageClass Class { get; set; }
    public DateTime CreatedAt { get; set; }
    public DateTime UpdatedAt { get; set; }
}

/// <summary>An uploaded file, sent by reference from one or many messages.</summary>
public sealed class MediaFile : ITenantOwned
{
    public Guid Id { get; set; } = Guid.CreateVersion7();
    public Guid TenantId { get; set; }
    public required string FileName { get; set; }
    public required string MimeType { get; set; }
    public long Size { get; set; }
    public required byte[] Content { get; set; }
    public DateTime CreatedAt { get; set; }
}

public enum InDoubtPolicy { Hold, Resend }

/// <summary>A tenant's sending rules: pacing, limits, quiet hours, routing and what to do with doubt.</summary>
public sealed class MessagingSettings : ITenantOwned
{
    public Guid TenantId { get; set; }

    /// <summary>Least time between two sends of one number, plus up to <see cref="JitterMs"/> at random.</summary>
    public int MinGapMs { get; set; } = 4000;
    public int JitterMs { get; set; } = 3000;

    /// <summary>"Typing…" shown for this long before each message (Evolution's delay); 0 for none.</summary>
    public int TypingDelayMs { get; set; }

    /// <summary>Local times (the tenant's time zone) between which nothing is sent; null for none.</summary>
    public TimeOnly? QuietFrom { get; set; }
    public TimeOnly? QuietUntil { get; set; }

    /// <summary>Numbers connected fewer days ago than this start with <see cref="WarmupFirstDayLimit"/> sends a day, doubling daily.</summary>
    public int WarmupDays { get; set; } = 7;
    public int WarmupFirstDayLimit { get; set; } = 50;

    public bool FailoverToOtherNumbers { get; set; }
    public int HoldMinutes { get; set; } = 240;
    public InDoubtPolicy InDoubt { get; set; } = InDoubtPolicy.Hold;
    public int MaxAttempts { get; set; } = 6;
    public string OptOutKeywords { get; set; } = DefaultOptOutKeywords;

    public const string DefaultOptOutKeywords = "SAIR, PARAR, CANCELAR, STOP";
    public DateTime UpdatedAt { get; set; }
}
