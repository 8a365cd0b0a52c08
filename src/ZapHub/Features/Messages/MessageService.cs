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
    string? FailureCategory, DateTime CreatedAt, DateTime? SentAt, DateTime? DeliveredAt, DateTime? ReadAt, DateTime? FailedAt, string Url)
{
    /// <summary>Why it waits or failed as a stable code (quiet_hours, send_failed, send_gave_up…); <see cref="StatusReason"/> says it in English.</summary>
    public string? StatusReasonCode => Platform.Note.Read(StoredReason)?.Code ?? StoredReason;

    /// <summary>The stored reason, for the dashboard to show in the reader's language.</summary>
    [System.Text.Json.Serialization.JsonIgnore] public string? StoredReason { get; init; }
}

/// <summary>A line of a message's timeline: a stable <c>code</c> and its English <c>detail</c> (the dashboard shows it in the reader's language).</summary>
public sealed record MessageEventView(DateTime At, MessageStatus Status, int? Attempt, string? Code, string? Detail, string? Node)
{
    [System.Text.Json.Serialization.JsonIgnore] public string? Stored { get; init; }
}

public sealed record MessageDetail(MessageView Message, IReadOnlyList<MessageEventView> Timeline);

public sealed record Accepted(MessageView Message, bool Replayed);

/// <summary>Up to <see cref="MessageService.MaxBatch"/> messages, each like a single send; its Idempotency-Key goes in the item.</summary>
public sealed record SendBatchRequest(IReadOnlyList<BatchMessage?>? Messages);

public sealed record BatchMessage(
    string? To, string? Text = null, MediaRequest? Media = null, TemplateRequest? Template = null,
    Guid? SessionId = null, string? Route = null, string? Class = null, DateTimeOffset? SendAt = null, string? IdempotencyKey = null)
{
    public SendMessageRequest ToRequest() => new(To, Text, Media, Template, SessionId, Route, Class, SendAt);
}

/// <summary>One message of a batch: 202 with the message (replayed when its key was seen before), or the problem's status, code and text.</summary>
public sealed record BatchItemResult(int Index, int Status, MessageView? Message, bool Replayed, string? Code, string? Title, string? Field)
{
    public static BatchItemResult From(int index, Accepted accepted) => new(index, StatusCodes.Status202Accepted, accepted.Message, accepted.Replayed, null, null, null);
    public static BatchItemResult From(int index, ProblemException problem) => new(index, problem.Status, null, false, problem.Code, problem.Message, problem.Field);
}

public sealed record BatchAccepted(int Accepted, int Rejected, IReadOnlyList<BatchItemResult> Results);

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

    public const int MaxBatch = 1000;

    public async Task<Accepted> SendAsync(SendMessageRequest request, string? idempotencyKey, CancellationToken ct)
    {
        tenant.RequireTenant();
        var prepared = await PrepareAsync(request, idempotencyKey, new SendLookups(db), time.UtcNow(), ct);
        var accepted = prepared.Replay ?? await StoreAsync(prepared, ct);
        if (!accepted.Replayed && accepted.Message.Status == MessageStatus.Queued) dispatcher.Wake();
        return accepted;
    }

    /// <summary>
    /// Many messages in one request (a campaign, a day's reminders): each is checked and accepted on its own, exactly as
    /// if sent alone, so one bad number fails alone; lookups (numbers, contacts, idempotency keys) are one query each.
    /// </summary>
    public async Task<BatchAccepted> SendBatchAsync(SendBatchRequest request, CancellationToken ct)
    {
        tenant.RequireTenant();
        if (request.Messages is not { Count: > 0 } items)
            throw ProblemException.Invalid("messages", "batch_empty", "Give at least one message in \"messages\".");
        if (items.Count > MaxBatch)
            throw ProblemException.Invalid("messages", "batch_large", $"A batch may have at most {MaxBatch} messages; split it.");
        var now = time.UtcNow();
        var lookups = new SendLookups(db);
        await lookups.PreloadAsync(items, ct);

        var results = new BatchItemResult[items.Count];
        var stores = new List<(int Index, Task<Accepted> Stored)>();
        var keys = new Dictionary<string, (byte[] Hash, int Index)>();
        for (var i = 0; i < items.Count; i++)
        {
            try
            {
                var item = items[i] ?? throw ProblemException.Invalid("messages", "batch_item_missing", "The message is empty.");
                var prepared = await PrepareAsync(item.ToRequest(), item.IdempotencyKey, lookups, now, ct);
                if (prepared.Replay is { } replay)
                {
                    results[i] = BatchItemResult.From(i, replay);
                    continue;
                }
                if (item.IdempotencyKey is { } key && !keys.TryAdd(key, (prepared.Message.RequestHash!, i)))
                {
                    // The same key twice in one batch: the second is a retry of the first, or a mistake.
                    if (!CryptographicOperations.FixedTimeEquals(keys[key].Hash, prepared.Message.RequestHash))
                        throw ProblemException.Conflict("idempotency_key_reused", "This Idempotency-Key was used for a different message; use a new key for a new message.");
                    stores.Add((i, ReplayOf(stores.First(s => s.Index == keys[key].Index).Stored)));
                    continue;
                }
                stores.Add((i, StoreAsync(prepared, ct)));
            }
            catch (ProblemException problem)
            {
                results[i] = BatchItemResult.From(i, problem);
            }
        }
        foreach (var (index, stored) in stores)
        {
            try { results[index] = BatchItemResult.From(index, await stored); }
            catch (ProblemException problem) { results[index] = BatchItemResult.From(index, problem); }
        }
        if (results.Any(r => r.Message is { Status: MessageStatus.Queued } && !r.Replayed)) dispatcher.Wake();
        var acceptedCount = results.Count(r => r.Message is not null);
        return new BatchAccepted(acceptedCount, results.Length - acceptedCount, results);

        static async Task<Accepted> ReplayOf(Task<Accepted> first) => (await first) with { Replayed = true };
    }

    private sealed record Prepared(Message Message, MessageEvent AcceptedEvent, Accepted? Replay);

    /// <summary>Checks one request and builds its message; throws <see cref="ProblemException"/> for what the caller must fix.</summary>
    private async Task<Prepared> PrepareAsync(SendMessageRequest request, string? idempotencyKey, SendLookups lookups, DateTime now, CancellationToken ct)
    {
        var tenantId = tenant.RequireTenant();
        if (idempotencyKey is { Length: 0 or > 100 })
            throw ProblemException.Invalid("Idempotency-Key", "idempotency_key", "The Idempotency-Key header must have 1 to 100 characters.");

        var peer = lookups.Peer(request.To);
        var message = new Message { TenantId = tenantId, Direction = MessageDirection.Outbound, Peer = peer, CreatedAt = now, UpdatedAt = now };
        await FillContentAsync(message, request, lookups, ct);
        message.Class = ParseClass(request.Class, message.Class);
        (message.Route, message.SessionId) = await RouteAsync(request, lookups, ct);

        var due = request.SendAt?.UtcDateTime ?? now;
        if (due > now.AddDays(90)) throw ProblemException.Invalid("sendAt", "send_at_far", "Schedule at most 90 days ahead.");
        message.DueAt = due > now ? due : now;
        message.Status = due > now ? MessageStatus.Scheduled : MessageStatus.Queued;

        if (idempotencyKey is not null)
        {
            message.IdempotencyKey = idempotencyKey;
            message.RequestHash = SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(new { request, peer }, HashJson));
            if (Replay(await lookups.ByIdempotencyKeyAsync(idempotencyKey, ct), message.RequestHash) is { } replay) return new Prepared(message, null!, replay);
        }

        var contact = await lookups.ContactAsync(peer, ct);
        if (contact is { OptedOut: true } && message.Class == MessageClass.Marketing)
            throw new ProblemException(StatusCodes.Status422UnprocessableEntity, "recipient_opted_out",
                $"{peer} asked not to receive marketing messages (opted out {contact.OptedOutAt:yyyy-MM-dd}). Transactional messages still go.");
        message.ContactId = contact?.Id;
        message.PeerName = contact?.Name;

        var accepted = new MessageEvent
        {
            TenantId = tenantId, MessageId = message.Id, At = now, Status = message.Status,
            Detail = (message.Status == MessageStatus.Scheduled ? Note.Of("accepted_scheduled", ("at", message.DueAt)) : Note.Of("accepted")).Store(),
        };
        return new Prepared(message, accepted, null);
    }

    /// <summary>Returns once the message is committed (grouped with other requests' messages by the intake).</summary>
    private async Task<Accepted> StoreAsync(Prepared prepared, CancellationToken ct)
    {
        var message = prepared.Message;
        try
        {
            await intake.StoreAsync(message, prepared.AcceptedEvent);
        }
        catch (DbUpdateException) when (message.IdempotencyKey is not null)
        {
            // The same key raced in from another request: the unique index kept one; answer as that one.
            var existing = await db.Messages.AsNoTracking().FirstOrDefaultAsync(m => m.IdempotencyKey == message.IdempotencyKey, ct);
            return Replay(existing, message.RequestHash!) ?? throw new ProblemException(503, "retry", "Try again.");
        }
        return new Accepted(View(message), false);
    }

    private static Accepted? Replay(Message? existing, byte[] hash)
    {
        if (existing is null) return null;
        if (!CryptographicOperations.FixedTimeEquals(existing.RequestHash, hash))
            throw ProblemException.Conflict("idempotency_key_reused", "This Idempotency-Key was used for a different message; use a new key for a new message.");
        return new Accepted(View(existing), true);
    }

    private async Task FillContentAsync(Message message, SendMessageRequest request, SendLookups lookups, CancellationToken ct)
    {
        var text = string.IsNullOrWhiteSpace(request.Text) ? null : request.Text.Trim();
        if (text is { Length: > 4096 }) throw ProblemException.Invalid("text", "text_long", "The text may have at most 4096 characters.");
        if (request.Template is { } t)
        {
            if (request.Media is not null || text is not null)
                throw ProblemException.Invalid("template", "content_mixed", "Send a template on its own, without text or media.");
            var template = await lookups.TemplateAsync(t.Name?.Trim().ToLowerInvariant(), ct)
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
                var file = await lookups.MediaFileAsync(media.FileId!.Value, ct)
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

    private static async Task<(MessageRoute, Guid?)> RouteAsync(SendMessageRequest request, SendLookups lookups, CancellationToken ct)
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
            if (!await lookups.SessionExistsAsync(id, ct)) throw ProblemException.Invalid("sessionId", "session_unknown", "You have no number with that sessionId.");
            return (route, id);
        }
        var candidates = await lookups.SendingNumbersAsync(ct);
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
            .Select(e => new { e.At, e.Status, e.Attempt, e.Detail, e.Node }).ToListAsync(ct);
        var timeline = events.Select(e => new MessageEventView(e.At, e.Status, e.Attempt, Note.Read(e.Detail)?.Code, Components.Text.English(e.Detail), e.Node) { Stored = e.Detail }).ToList();
        return new MessageDetail(View(message), timeline);
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
            return Note.Of("canceled_by", ("actor", actor.Name)).Store();
        }, ct);

    /// <summary>For a message in doubt: a person decided the recipient did not get it, so it goes out again.</summary>
    public Task<MessageView> ResendAsync(Actor actor, Guid id, CancellationToken ct) =>
        ChangeAsync(actor, id, "message.resent", m =>
        {
            if (m.Status != MessageStatus.InDoubt)
                throw ProblemException.Conflict("message_not_in_doubt", "Only a message in doubt can be sent again this way.");
            (m.Status, m.StatusReason, m.DueAt) = (MessageStatus.Queued, null, time.UtcNow());
            return Note.Of("resent_by", ("actor", actor.Name)).Store();
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
        audit.Add(db, actor, c.TenantId, created ? "contact.created" : "contact.updated", "contact", c.Id.ToString(), Note.Of(c.OptedOut ? "audit_contact_opted_out" : "audit_contact", ("peer", peer)).Store());
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
        m.Id, m.Direction, m.Status, m.StatusReason is null ? null : Components.Text.English(m.StatusReason), m.SessionId, m.Route, m.Peer, m.PeerName, m.Class, m.Text,
        m.MediaKind is { } kind ? new MediaView(kind, m.MediaUrl, m.MediaFileId, m.MediaFileName, m.MediaMimeType) : null,
        m.TemplateName, m.DueAt, m.Attempts, m.ProviderMessageId, m.FailureCategory, m.CreatedAt, m.SentAt, m.DeliveredAt, m.ReadAt, m.FailedAt,
        $"/api/v1/messages/{m.Id}") { StoredReason = m.StatusReason };
}
