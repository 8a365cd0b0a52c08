using Microsoft.EntityFrameworkCore;
using ZapHub.Data;
using ZapHub.Platform;
using ZapHub.Features.Sessions;
using ZapHub.Gateways;

namespace ZapHub.Features.Messages;

/// <summary>A send the dispatch ledger recorded: receipts that arrived before it can now find their message.</summary>
public sealed record RecordedSend(Guid SessionId, string ProviderMessageId);

/// <summary>
/// What gateway webhooks mean for messages: receipts move an outbound message's status forward (never back), and
/// received messages are stored with their contact, checked for opt-out words. Runs inside the signal processor's
/// batch, so it commits with the events it came from.
/// </summary>
public sealed class MessageSignals(ZapHubDb db, DateTime now)
{
    private readonly Dictionary<(Guid, string), Message?> outbound = [];
    private readonly HashSet<Guid> sending = [];
    private readonly Dictionary<(Guid, string), Contact> contacts = [];
    private readonly HashSet<(Guid, string)> inboundSeen = [];
    private readonly Dictionary<Guid, MessagingSettings> settings = [];

    /// <summary>How many messages this batch moved to each status (receipts and received messages), for the metrics.</summary>
    public Dictionary<MessageStatus, int> Changes { get; } = [];

    public static MessageStatus? StatusOf(AckLevel level) => level switch
    {
        AckLevel.Sent => MessageStatus.Sent,
        AckLevel.Delivered => MessageStatus.Delivered,
        AckLevel.Read or AckLevel.Played => MessageStatus.Read,
        AckLevel.Failed => MessageStatus.Failed,
        _ => null,
    };

    /// <summary>Loads, in one query each, the messages and contacts a batch of signals will touch.</summary>
    public async Task PrepareAsync(IReadOnlyList<(Session Session, GatewaySignal Signal)> signals, CancellationToken ct)
    {
        var acks = signals.Where(x => x.Signal is AckSignal).Select(x => (x.Session.Id, ((AckSignal)x.Signal).ProviderMessageId)).Distinct().ToList();
        if (acks.Count > 0)
        {
            var ids = acks.Select(a => a.ProviderMessageId).Distinct().ToList();
            var found = await db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter])
                .Where(m => m.ProviderMessageId != null && ids.Contains(m.ProviderMessageId)).ToListAsync(ct);
            foreach (var key in acks) outbound[key] = null;
            // Provider ids are unique per number only: a receipt counts for the message its own number sent.
            foreach (var m in found)
                if (m.SessionId is { } number && outbound.ContainsKey((number, m.ProviderMessageId!))) outbound[(number, m.ProviderMessageId!)] = m;
            // An unknown id can still be ours only while one of the number's sends is under way (Sending is committed
            // before the gateway is called, so its receipts cannot come earlier).
            var unknown = acks.Where(a => outbound[a] is null).Select(a => a.Id).Distinct().ToList();
            if (unknown.Count > 0)
                sending.UnionWith(await db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter])
                    .Where(m => m.Status == MessageStatus.Sending && m.SessionId != null && unknown.Contains(m.SessionId.Value))
                    .Select(m => m.SessionId!.Value).Distinct().ToListAsync(ct));
        }
        var inbound = signals.Where(x => x.Signal is InboundSignal).ToList();
        if (inbound.Count > 0)
        {
            var peers = inbound.Select(x => ((InboundSignal)x.Signal).From).Distinct().ToList();
            var tenants = inbound.Select(x => x.Session.TenantId).Distinct().ToList();
            foreach (var c in await db.Contacts.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(c => tenants.Contains(c.TenantId) && peers.Contains(c.Peer)).ToListAsync(ct))
                contacts[(c.TenantId, c.Peer)] = c;
            var providerIds = inbound.Select(x => ((InboundSignal)x.Signal).ProviderMessageId).Distinct().ToList();
            // By provider id alone, like the receipts above; the id only counts on the number it arrived on.
            foreach (var seen in await db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter])
                .Where(m => m.ProviderMessageId != null && providerIds.Contains(m.ProviderMessageId) && m.SessionId != null)
                .Select(m => new { SessionId = m.SessionId!.Value, m.ProviderMessageId }).ToListAsync(ct))
                inboundSeen.Add((seen.SessionId, seen.ProviderMessageId!));
            foreach (var tenantId in tenants) settings[tenantId] = await MessagingSettingsService.LoadAsync(db, tenantId, ct);
        }
    }

    public void Apply(Session session, AckSignal ack)
    {
        if (StatusOf(ack.Level) is not { } status) return;
        if (outbound.GetValueOrDefault((session.Id, ack.ProviderMessageId)) is { } message)
        {
            Advance(message, status, now, Note.Of("receipt", ("raw", ack.RawEvent)).Store());
            return;
        }
        // Messages typed on the phone, or sent by another client of the same number: nothing of ZapHub's to update.
        if (!sending.Contains(session.Id)) return;
        // The send call has not returned yet (or its result is not committed): keep the receipt until it has.
        db.PendingReceipts.Add(new PendingReceipt { TenantId = session.TenantId, SessionId = session.Id, ProviderMessageId = ack.ProviderMessageId, Status = status, At = now });
    }

    /// <summary>Moves a message forward along sent → delivered → read; a failure receipt only counts before delivery.</summary>
    public void Advance(Message m, MessageStatus status, DateTime at, string detail)
    {
        if (Rank(status) <= Rank(m.Status) || m.Status is MessageStatus.Canceled or MessageStatus.Received) return;
        if (status == MessageStatus.Failed && m.Status != MessageStatus.Sent) return;
        m.Status = status;
        m.UpdatedAt = at;
        Changes[status] = Changes.GetValueOrDefault(status) + 1;
        switch (status)
        {
            case MessageStatus.Delivered: m.DeliveredAt ??= at; break;
            case MessageStatus.Read: m.DeliveredAt ??= at; m.ReadAt ??= at; break;
            case MessageStatus.Failed:
                (m.FailedAt, m.FailureCategory, m.StatusReason) = (at, "rejected_by_whatsapp", Note.Of("send_rejected").Store());
                break;
        }
        db.MessageEvents.Add(new MessageEvent { TenantId = m.TenantId, MessageId = m.Id, At = at, Status = status, Detail = detail });
    }

    private static int Rank(MessageStatus s) => s switch
    {
        MessageStatus.Sent => 1,
        MessageStatus.Delivered => 2,
        MessageStatus.Read => 3,
        MessageStatus.Failed => 2,
        _ => 0,
    };

    /// <summary>A received message: stored once, linked to its contact; an opt-out word stops marketing to that contact.</summary>
    public void Apply(Session session, InboundSignal inbound)
    {
        if (string.IsNullOrEmpty(inbound.From) || !inboundSeen.Add((session.Id, inbound.ProviderMessageId))) return;
        var key = (session.TenantId, inbound.From);
        if (!contacts.TryGetValue(key, out var contact))
        {
            contact = new Contact { TenantId = session.TenantId, Peer = inbound.From, CreatedAt = now };
            db.Contacts.Add(contact);
            contacts[key] = contact;
        }
        if (!string.IsNullOrWhiteSpace(inbound.PushName)) contact.Name = inbound.PushName.Length > 120 ? inbound.PushName[..120] : inbound.PushName;
        contact.LastInboundAt = now;
        var text = inbound.Text is { Length: > 4096 } t ? t[..4096] : inbound.Text;
        var message = new Message
        {
            TenantId = session.TenantId, Direction = MessageDirection.Inbound, Status = MessageStatus.Received, SessionId = session.Id, Peer = inbound.From,
            PeerName = contact.Name, ContactId = contact.Id, Text = text, ProviderMessageId = inbound.ProviderMessageId is { Length: > 0 } id ? id : null,
            MediaKind = inbound.MediaType switch { "image" => MediaKind.Image, "video" => MediaKind.Video, "audio" or "ptt" => MediaKind.Audio, null => null, _ => MediaKind.Document },
            DueAt = inbound.At.UtcDateTime, CreatedAt = now, UpdatedAt = now,
        };
        db.Messages.Add(message);
        Changes[MessageStatus.Received] = Changes.GetValueOrDefault(MessageStatus.Received) + 1;
        db.MessageEvents.Add(new MessageEvent { TenantId = session.TenantId, MessageId = message.Id, At = now, Status = MessageStatus.Received, Detail = Note.Of("received", ("number", session.DisplayName)).Store() });

        if (!contact.OptedOut && IsOptOut(text, MessagingSettingsService.Keywords(settings[session.TenantId])))
            (contact.OptedOut, contact.OptedOutAt, contact.OptOutText) = (true, now, text!.Trim() is { Length: > 200 } x ? x[..200] : text.Trim());
    }

    /// <summary>The whole message is the keyword, whatever its case, accents or punctuation ("Sair", "PARAR!", "stop.").</summary>
    public static bool IsOptOut(string? text, IEnumerable<string> keywords)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Length > 40) return false;
        var normalized = Normalize(text);
        return keywords.Any(k => Normalize(k) == normalized);
    }

    private static string Normalize(string value)
    {
        var decomposed = value.Trim().Normalize(System.Text.NormalizationForm.FormD);
        return new string(decomposed.Where(c => char.IsLetterOrDigit(c) || c == ' ').ToArray()).Trim().ToUpperInvariant();
    }

    /// <summary>
    /// Longer than any send call takes to return and commit. A receipt kept because a send was under way, but for a
    /// message that was not that send's (a test send, one typed on the phone meanwhile), is dropped after this.
    /// </summary>
    private static readonly TimeSpan PendingLifetime = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Receipts that arrived before their send was recorded, applied now that it is: those of the given sends, or, with
    /// none given, all that wait (a page at a time). Either way a message is found by provider id, like a receipt.
    /// </summary>
    public static async Task ApplyPendingAsync(ZapHubDb db, DateTime now, IReadOnlyList<RecordedSend>? sends, CancellationToken ct)
    {
        var signals = new MessageSignals(db, now);
        var pending = db.PendingReceipts.IgnoreQueryFilters([ZapHubDb.TenantFilter]);
        async Task ApplyAsync(IReadOnlyList<PendingReceipt> receipts)
        {
            var ids = receipts.Select(r => r.ProviderMessageId).Distinct().ToList();
            var found = (await db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter])
                    .Where(m => m.ProviderMessageId != null && ids.Contains(m.ProviderMessageId) && m.SessionId != null).ToListAsync(ct))
                .ToDictionary(m => (m.SessionId!.Value, m.ProviderMessageId!));
            foreach (var r in receipts)
            {
                if (!found.TryGetValue((r.SessionId, r.ProviderMessageId), out var m)) continue;
                signals.Advance(m, r.Status, r.At, Note.Of("receipt_early").Store());
                db.PendingReceipts.Remove(r);
            }
        }

        if (sends is not null)
        {
            var ids = sends.Select(s => s.ProviderMessageId).Distinct().ToList();
            var recorded = sends.ToHashSet();
            var receipts = (await pending.Where(r => ids.Contains(r.ProviderMessageId)).ToListAsync(ct))
                .Where(r => recorded.Contains(new RecordedSend(r.SessionId, r.ProviderMessageId))).ToList();
            if (receipts.Count > 0) await ApplyAsync(receipts);
            return;
        }
        for (long after = 0; ;)
        {
            var page = await pending.Where(r => r.Id > after).OrderBy(r => r.Id).Take(500).ToListAsync(ct);
            if (page.Count == 0) return;
            after = page[^1].Id;
            await ApplyAsync(page);
        }
    }

    public static Task DropStaleReceiptsAsync(ZapHubDb db, DateTime now, CancellationToken ct)
    {
        var stale = now - PendingLifetime;
        return db.PendingReceipts.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(r => r.At < stale).ExecuteDeleteAsync(ct);
    }
}
