using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using ZapHub.Data;
using ZapHub.Features.Sessions;
using ZapHub.Gateways;
using ZapHub.Features.Tenancy;
using ZapHub.Platform;

namespace ZapHub.Features.Messages;

public sealed record MediaRequest(string? Type, string? Url = null, Guid? FileId = null, string? FileName = null);

public sealed record TemplateRequest(string? Name, Dictionary<string, string>? Variables = null);

/// <summary>
/// One message to send. <c>To</c> in any common Brazilian form or E.164; text, media (its caption in <c>Text</c>) or a
/// template; <c>Route</c> "primary" (default), "any", or "session" with <c>SessionId</c>; <c>Class</c> "transactional"
/// (default) or "marketing"; <c>SendAt</c> to schedule.
/// </summary>
public sealed record SendMessageRequest(
    string? To, string? Text = null, MediaRequest? Media = null, TemplateRequest? Template = null,
    Guid? SessionId = null, string? Route = null, string? Class = null, DateTimeOffset? SendAt = null);

public sealed record MediaView(MediaKind Kind, string? Url, Guid? FileId, string? FileName, string? MimeType);

public sealed record MessageView(
    Guid Id, MessageDirection Direction, MessageStatus Status, string? StatusReason, Guid? SessionId, MessageRoute Route, string Peer, string? PeerName,
    MessageClass Class, string? Text, MediaView? Media, string? TemplateName, DateTime DueAt, int Attempts, string? ProviderMessageId,
    string? FailureCategory, DateTime CreatedAt, DateTime? SentAt, DateTime? DeliveredAt, DateTime? ReadAt, DateTime? FailedAt, string Url);

public sealed record MessageEventView(DateTime At, MessageStatus Status, int? Attempt, string? Detail, string? Node);

public sealed record MessageDetail(MessageView Message, IReadOnlyList<MessageEventView> Timeline);

public sealed record Accepted(MessageView Message, bool Replayed);

public sealed record MessageQuery(MessageStatus? Status = null, Guid? SessionId = null, string? Peer = null, MessageDirection? Direction = null,
    DateTime? Before = null, int Limit = 50);

public sealed record ContactView(Guid Id, string Peer, string? Name, bool OptedOut, DateTime? OptedOutAt, DateTime? LastInboundAt, DateTime? LastOutboundAt);

public sealed record SaveContactRequest(string? Phone, string? Name = null, bool? OptedOut = null);

public sealed record MediaFileView(Guid Id, string FileName, string MimeType, long Size, DateTime CreatedAt);

/// <summary>The tenant's messages: accepting sends into the outbox, reading them back, and the few things a person may do to one.</summary>
public sealed class MessageService(ZapHubDb db, TenantContext tenant, TimeProvider time, AuditLog audit, MessageDispatcher dispatcher, MessageIntake intake)
{
    public const long MaxUploadBytes = 16 * 1024 * 1024;
    private static readonly JsonSerializerOptions HashJson = new(JsonSerializerDefaults.Web);

    public async Task<Accepted> SendAsync(Actor actor, SendMessageRequest request, string? idempotencyKey, CancellationToken ct)
    {
        var tenantId = tenant.RequireTenant();
        var now = time.UtcNow();
        if (idempotencyKey is { Length: 0 or > 100 })
            throw ProblemException.Invalid("Idempotency-Key", "idempotency_key", "The Idempotency-Key header must have 1 to 100 characters.");

        var peer = PhoneNumberRules.ToE164(request.To, "to");
        var message = new Message { TenantId = tenantId, Direction = MessageDirection.Outbound, Peer = peer, CreatedAt = now, UpdatedAt = now };
        await FillContentAsync(message, request, ct);
        message.Class = ParseClass(request.Class, message.Class);
        (message.Route, message.SessionId) = await RouteAsync(request, ct);

        var due = request.SendAt?.UtcDateTime ?? now;
        if (due > now.AddDays(90)) throw ProblemException.Invalid("sendAt", "send_at_far", "Schedule at most 90 days ahead.");
        message.DueAt = due > now ? due : now;
        message.Status = due > now ? MessageStatus.Scheduled : MessageStatus.Queued;

        if (idempotencyKey is not null)
        {
            message.IdempotencyKey = idempotencyKey;
            message.RequestHash = SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(new { request, peer }, HashJson));
            if (await ReplayAsync(idempotencyKey, message.RequestHash, ct) is { } replay) return replay;
        }

        var contact = await db.Contacts.AsNoTracking().FirstOrDefaultAsync(c => c.Peer == peer, ct);
        if (contact is { OptedOut: true } && message.Class == MessageClass.Marketing)
            throw new ProblemException(StatusCodes.Status422UnprocessableEntity, "recipient_opted_out",
                $"{peer} asked not to receive marketing messages (opted out {contact.OptedOutAt:yyyy-MM-dd}). Transactional messages still go.");
        message.ContactId = contact?.Id;
        message.PeerName = contact?.Name;

        var accepted = new MessageEvent
        {
            TenantId = tenantId, MessageId = message.Id, At = now, Status = message.Status,
            Detail = message.Status == MessageStatus.Scheduled ? $"accepted; scheduled for {message.DueAt:O}" : "accepted",
        };
        try
        {
            await intake.StoreAsync(message, accepted);
        }
        catch (DbUpdateException) when (idempotencyKey is not null)
        {
            // The same key raced in from another request: the unique index kept one; answer as that one.
            return await ReplayAsync(idempotencyKey, message.RequestHash!, ct) ?? throw new ProblemException(503, "retry", "Try again.");
        }
        if (message.Status == MessageStatus.Queued) dispatcher.Wake();
        return new Accepted(View(message), false);
    }

    private async Task<Accepted?> ReplayAsync(string key, byte[] hash, CancellationToken ct)
    {
        var existing = await db.Messages.AsNoTracking().FirstOrDefaultAsync(m => m.IdempotencyKey == key, ct);
        if (existing is null) return null;
        if (!CryptographicOperations.FixedTimeEquals(existing.RequestHash, hash))
            throw ProblemException.Conflict("idempotency_key_reused", "This Idempotency-Key was used for a different message; use a new key for a new message.");
        return new Accepted(View(existing), true);
    }

    private async Task FillContentAsync(Message message, SendMessageRequest request, CancellationToken ct)
    {
        var text = string.IsNullOrWhiteSpace(request.Text) ? null : request.Text.Trim();
        if (text is { Length: > 4096 }) throw ProblemException.Invalid("text", "text_long", "The text may have at most 4096 characters.");
        if (request.Template is { } t)
        {
            if (request.Media is not null || text is not null)
                throw ProblemException.Invalid("template", "content_mixed", "Send a template on its own, without text or media.");
            var name = t.Name?.Trim().ToLowerInvariant();
            var template = await db.Templates.AsNoTracking().FirstOrDefaultAsync(x => x.Name == name, ct)
                ?? throw ProblemException.Invalid("template.name", "template_unknown", $"There is no template named \"{t.Name}\".");
            message.Text = TemplateText.Render(template.Body, t.Variables);
            message.TemplateName = template.Name;
            message.TemplateVariables = JsonSerializer.Serialize(t.Variables ?? []);
            message.Class = template.Class;
            return;
        }
        message.Text = text;
        if (request.Media is { } media)
        {
            message.MediaKind = media.Type?.Trim().ToLowerInvariant() switch
            {
                "image" => MediaKind.Image,
                "document" => MediaKind.Document,
                "audio" => MediaKind.Audio,
                "video" => MediaKind.Video,
                _ => throw ProblemException.Invalid("media.type", "media_type", "media.type must be image, document, audio or video."),
            };
            if ((media.Url is null) == (media.FileId is null))
                throw ProblemException.Invalid("media", "media_source", "Give the media either as a url or as the fileId of an upload (POST /api/v1/media).");
            if (media.Url is not null)
            {
                if (!Uri.TryCreate(media.Url, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https") || media.Url.Length > 2000)
                    throw ProblemException.Invalid("media.url", "media_url", "media.url must be an http(s) address the gateway can download.");
                message.MediaUrl = url.ToString();
                message.MediaFileName = media.FileName ?? Path.GetFileName(url.LocalPath);
            }
            else
            {
                var file = await db.MediaFiles.AsNoTracking().Where(f => f.Id == media.FileId).Select(f => new { f.FileName, f.MimeType }).FirstOrDefaultAsync(ct)
                    ?? throw ProblemException.Invalid("media.fileId", "media_unknown", "No uploaded file has that id.");
                message.MediaFileId = media.FileId;
                message.MediaFileName = media.FileName ?? file.FileName;
                message.MediaMimeType = file.MimeType;
            }
            if (message.MediaFileName is { Length: > 200 }) message.MediaFileName = message.MediaFileName[..200];
            return;
        }
        if (text is null) throw ProblemException.Invalid("text", "content_required", "Give the message a text, a media or a template.");
    }

    private async Task<(MessageRoute, Guid?)> RouteAsync(SendMessageRequest request, CancellationToken ct)
    {
        var route = request.Route?.Trim().ToLowerInvariant() switch
        {
            null or "" => request.SessionId is null ? MessageRoute.Primary : MessageRoute.Session,
            "primary" => MessageRoute.Primary,
            "any" => MessageRoute.Any,
            "session" => MessageRoute.Session,
            _ => throw ProblemException.Invalid("route", "route", "route must be \"primary\", \"any\" or \"session\" (with sessionId)."),
        };
        if (route == MessageRoute.Session)
        {
            if (request.SessionId is not { } id) throw ProblemException.Invalid("sessionId", "session_required", "route \"session\" needs a sessionId.");
            if (!await db.Sessions.AnyAsync(s => s.Id == id, ct)) throw ProblemException.Invalid("sessionId", "session_unknown", "You have no number with that sessionId.");
            return (route, id);
        }
        var candidates = await db.Sessions.AsNoTracking().Where(s => s.Enabled)
            .Select(s => new { s.Id, s.IsPrimary, Connected = s.State == SessionState.Connected }).ToListAsync(ct);
        if (candidates.Count == 0) throw ProblemException.Conflict("no_session", "Connect a WhatsApp number before sending.");
        if (route == MessageRoute.Primary)
            return (route, (candidates.FirstOrDefault(c => c.IsPrimary) ?? candidates.OrderByDescending(c => c.Connected).First()).Id);
        // "any": one of the connected numbers at random spreads a burst; the dispatcher moves it again if that one drops.
        var pool = candidates.Where(c => c.Connected).ToList() is { Count: > 0 } connected ? connected : candidates;
        return (route, pool[Random.Shared.Next(pool.Count)].Id);
    }

    private static MessageClass ParseClass(string? value, MessageClass fallback) => value?.Trim().ToLowerInvariant() switch
    {
        null or "" => fallback,
        "transactional" => MessageClass.Transactional,
        "marketing" => MessageClass.Marketing,
        _ => throw ProblemException.Invalid("class", "message_class", "class must be \"transactional\" or \"marketing\"."),
    };

    public async Task<MessageDetail> GetAsync(Guid id, CancellationToken ct)
    {
        var message = await db.Messages.AsNoTracking().FirstOrDefaultAsync(m => m.Id == id, ct) ?? throw ProblemException.NotFound("Message");
        var events = await db.MessageEvents.AsNoTracking().Where(e => e.MessageId == id).OrderBy(e => e.Id)
            .Select(e => new MessageEventView(e.At, e.Status, e.Attempt, e.Detail, e.Node)).ToListAsync(ct);
        return new MessageDetail(View(message), events);
    }

    public async Task<IReadOnlyList<MessageView>> ListAsync(MessageQuery q, CancellationToken ct)
    {
        var query = db.Messages.AsNoTracking();
        if (q.Status is { } status) query = query.Where(m => m.Status == status);
        if (q.SessionId is { } session) query = query.Where(m => m.SessionId == session);
        if (q.Direction is { } direction) query = query.Where(m => m.Direction == direction);
        if (!string.IsNullOrWhiteSpace(q.Peer))
        {
            var peer = q.Peer.StartsWith('+') || q.Peer.Any(char.IsLetter) ? q.Peer.Trim() : PhoneNumberRules.ToE164(q.Peer, "peer");
            query = query.Where(m => m.Peer == peer);
        }
        if (q.Before is { } before) query = query.Where(m => m.CreatedAt < before);
        var rows = await query.OrderByDescending(m => m.CreatedAt).Take(Math.Clamp(q.Limit, 1, 500)).ToListAsync(ct);
        return rows.Select(View).ToList();
    }

    public Task<MessageView> CancelAsync(Actor actor, Guid id, CancellationToken ct) =>
        ChangeAsync(actor, id, "message.canceled", m =>
        {
            if (m.Status is not (MessageStatus.Scheduled or MessageStatus.Queued or MessageStatus.Held or MessageStatus.InDoubt))
                throw ProblemException.Conflict("message_not_cancelable", m.Status == MessageStatus.Sending
                    ? "The message is being sent right now and can no longer be canceled."
                    : $"A {m.Status.ToString().ToLowerInvariant()} message can no longer be canceled.");
            (m.Status, m.StatusReason, m.LeaseOwner, m.LeaseUntil) = (MessageStatus.Canceled, "canceled", null, null);
            return "canceled by " + actor.Name;
        }, ct);

    /// <summary>For a message in doubt: a person decided the recipient did not get it, so it goes out again.</summary>
    public Task<MessageView> ResendAsync(Actor actor, Guid id, CancellationToken ct) =>
        ChangeAsync(actor, id, "message.resent", m =>
        {
            if (m.Status != MessageStatus.InDoubt)
                throw ProblemException.Conflict("message_not_in_doubt", "Only a message in doubt can be sent again this way.");
            (m.Status, m.StatusReason, m.DueAt) = (MessageStatus.Queued, null, time.UtcNow());
            return "sent again by " + actor.Name + " after the doubt";
        }, ct);

    private async Task<MessageView> ChangeAsync(Actor actor, Guid id, string action, Func<Message, string> change, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var message = await db.Messages.FirstOrDefaultAsync(m => m.Id == id && m.Direction == MessageDirection.Outbound, ct)
                ?? throw ProblemException.NotFound("Message");
            var detail = change(message);
            message.UpdatedAt = time.UtcNow();
            db.MessageEvents.Add(new MessageEvent { TenantId = message.TenantId, MessageId = id, At = message.UpdatedAt, Status = message.Status, Detail = detail });
            audit.Add(db, actor, message.TenantId, action, "message", id.ToString(), message.Peer);
            try
            {
                await db.SaveChangesAsync(ct);
                if (message.Status == MessageStatus.Queued) dispatcher.Wake();
                return View(message);
            }
            catch (DbUpdateConcurrencyException) when (attempt < 5)
            {
                // The dispatcher moved it meanwhile: decide again on the fresh row.
                db.ChangeTracker.Clear();
            }
        }
    }

    public async Task<MediaFileView> UploadAsync(Actor actor, IFormFile file, CancellationToken ct)
    {
        if (file.Length == 0) throw ProblemException.Invalid("file", "file_empty", "The file is empty.");
        if (file.Length > MaxUploadBytes) throw ProblemException.Invalid("file", "file_large", $"Files may have at most {MaxUploadBytes / 1024 / 1024} MB.");
        using var buffer = new MemoryStream((int)file.Length);
        await file.CopyToAsync(buffer, ct);
        var name = Path.GetFileName(file.FileName) is { Length: > 0 and <= 200 } n ? n : "file";
        var media = new MediaFile
        {
            TenantId = tenant.RequireTenant(), FileName = name, MimeType = string.IsNullOrWhiteSpace(file.ContentType) ? "application/octet-stream" : file.ContentType,
            Size = file.Length, Content = buffer.ToArray(), CreatedAt = time.UtcNow(),
        };
        db.MediaFiles.Add(media);
        audit.Add(db, actor, media.TenantId, "media.uploaded", "media", media.Id.ToString(), $"{name} ({file.Length} bytes)");
        await db.SaveChangesAsync(ct);
        return new MediaFileView(media.Id, media.FileName, media.MimeType, media.Size, media.CreatedAt);
    }

    public async Task<IReadOnlyList<ContactView>> ContactsAsync(string? search, bool? optedOut, CancellationToken ct)
    {
        var query = db.Contacts.AsNoTracking();
        if (optedOut is { } o) query = query.Where(c => c.OptedOut == o);
        if (!string.IsNullOrWhiteSpace(search)) query = query.Where(c => c.Peer.Contains(search.Trim()) || (c.Name != null && c.Name.Contains(search.Trim())));
        return await query.OrderByDescending(c => c.LastInboundAt ?? c.CreatedAt).Take(200)
            .Select(c => new ContactView(c.Id, c.Peer, c.Name, c.OptedOut, c.OptedOutAt, c.LastInboundAt, c.LastOutboundAt)).ToListAsync(ct);
    }

    public async Task<(ContactView Contact, IReadOnlyList<MessageView> Messages)> ConversationAsync(Guid contactId, CancellationToken ct)
    {
        var c = await db.Contacts.AsNoTracking().FirstOrDefaultAsync(x => x.Id == contactId, ct) ?? throw ProblemException.NotFound("Contact");
        var messages = await db.Messages.AsNoTracking().Where(m => m.Peer == c.Peer).OrderByDescending(m => m.CreatedAt).Take(200).ToListAsync(ct);
        return (new ContactView(c.Id, c.Peer, c.Name, c.OptedOut, c.OptedOutAt, c.LastInboundAt, c.LastOutboundAt), messages.AsEnumerable().Reverse().Select(View).ToList());
    }

    /// <summary>Adds a contact (or names an existing one), e.g. when importing an opt-out list from another system.</summary>
    public async Task<(ContactView Contact, bool Created)> SaveContactAsync(Actor actor, SaveContactRequest request, CancellationToken ct)
    {
        var peer = PhoneNumberRules.ToE164(request.Phone, "phone");
        var name = request.Name?.Trim() is { Length: > 0 } n ? (n.Length > 120 ? n[..120] : n) : null;
        var c = await db.Contacts.FirstOrDefaultAsync(x => x.Peer == peer, ct);
        var created = c is null;
        if (c is null) db.Contacts.Add(c = new Contact { TenantId = tenant.RequireTenant(), Peer = peer, CreatedAt = time.UtcNow() });
        c.Name = name ?? c.Name;
        if (request.OptedOut is { } optedOut && optedOut != c.OptedOut)
            (c.OptedOut, c.OptedOutAt, c.OptOutText) = (optedOut, optedOut ? time.UtcNow() : null, optedOut ? "set by " + actor.Name : null);
        audit.Add(db, actor, c.TenantId, created ? "contact.created" : "contact.updated", "contact", c.Id.ToString(), $"{peer}{(c.OptedOut ? " (opted out)" : "")}");
        await db.SaveChangesAsync(ct);
        return (new ContactView(c.Id, c.Peer, c.Name, c.OptedOut, c.OptedOutAt, c.LastInboundAt, c.LastOutboundAt), created);
    }

    /// <summary>A person records that the contact wants marketing messages again (or no longer does).</summary>
    public async Task<ContactView> SetOptOutAsync(Actor actor, Guid contactId, bool optedOut, CancellationToken ct)
    {
        var c = await db.Contacts.FirstOrDefaultAsync(x => x.Id == contactId, ct) ?? throw ProblemException.NotFound("Contact");
        (c.OptedOut, c.OptedOutAt, c.OptOutText) = (optedOut, optedOut ? time.UtcNow() : null, optedOut ? "set by " + actor.Name : null);
        audit.Add(db, actor, c.TenantId, optedOut ? "contact.opted_out" : "contact.opted_in", "contact", c.Id.ToString(), c.Peer);
        await db.SaveChangesAsync(ct);
        return new ContactView(c.Id, c.Peer, c.Name, c.OptedOut, c.OptedOutAt, c.LastInboundAt, c.LastOutboundAt);
    }

    public static MessageView View(Message m) => new(
        m.Id, m.Direction, m.Status, m.StatusReason, m.SessionId, m.Route, m.Peer, m.PeerName, m.Class, m.Text,
        m.MediaKind is { } kind ? new MediaView(kind, m.MediaUrl, m.MediaFileId, m.MediaFileName, m.MediaMimeType) : null,
        m.TemplateName, m.DueAt, m.Attempts, m.ProviderMessageId, m.FailureCategory, m.CreatedAt, m.SentAt, m.DeliveredAt, m.ReadAt, m.FailedAt,
        $"/api/v1/messages/{m.Id}");
}
