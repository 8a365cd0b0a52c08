using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Diagnostics;
using ZapHub.Data;
using ZapHub.Platform.Cluster;
using ZapHub.Features.Messages;
using ZapHub.Features.Sessions;
using ZapHub.Gateways;

namespace ZapHub.Features.Events;

/// <summary>
/// Turns the changes a unit of work saves into events, in the same transaction: a message's new timeline row, a
/// session's transition or new QR code, a contact's opt-out. No feature publishes by hand, so no path that
/// changes a status can forget to tell the tenant. After the commit it wakes the relay.
/// </summary>
public sealed class EventCapture(TimeProvider time, EventRelay relay) : SaveChangesInterceptor, IDbTransactionInterceptor
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        // Payloads go out as JSON bodies and SSE data lines, never into HTML: keep "+55…" and "é" readable.
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        Capture(eventData.Context);
        return result;
    }

    public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        Capture(eventData.Context);
        return ValueTask.FromResult(result);
    }

    public override int SavedChanges(SaveChangesCompletedEventData eventData, int result)
    {
        WakeIfCommitted(eventData.Context);
        return result;
    }

    public override ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        WakeIfCommitted(eventData.Context);
        return ValueTask.FromResult(result);
    }

    public void TransactionCommitted(System.Data.Common.DbTransaction transaction, TransactionEndEventData eventData) => Wake(eventData.Context);

    public Task TransactionCommittedAsync(System.Data.Common.DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Wake(eventData.Context);
        return Task.CompletedTask;
    }

    private void WakeIfCommitted(DbContext? context)
    {
        if (context?.Database.CurrentTransaction is null) Wake(context);
    }

    private void Wake(DbContext? context)
    {
        if (context is ZapHubDb { WroteEvents: true } db)
        {
            db.WroteEvents = false;
            relay.Wake();
        }
    }

    private void Capture(DbContext? context)
    {
        if (context is not ZapHubDb db) return;
        var tracker = db.ChangeTracker;
        // Runs on every save: snapshot changes (a new QR code, an opt-out) must be seen now, and the tracked
        // entries are walked once.
        tracker.DetectChanges();
        var events = new List<EventRecord>();
        var now = time.GetUtcNow().UtcDateTime;
        var messageEvents = new List<MessageEvent>();
        var sessionEvents = new List<SessionEvent>();
        var messages = new Dictionary<Guid, Message>();
        var sessions = new Dictionary<Guid, Session>();
        var addedByHand = false;
        foreach (var entry in tracker.Entries())
        {
            switch (entry.Entity)
            {
                case EventRecord when entry.State == EntityState.Added:
                    addedByHand = true;
                    break;
                case MessageEvent e when entry.State == EntityState.Added:
                    messageEvents.Add(e);
                    break;
                case SessionEvent e when entry.State == EntityState.Added:
                    sessionEvents.Add(e);
                    break;
                case Message m:
                    messages[m.Id] = m;
                    break;
                case Session s:
                    sessions[s.Id] = s;
                    if (SessionEventFor(entry, s, now) is { } sessionEvent) events.Add(sessionEvent);
                    break;
                case Contact c:
                    var choiceChanged = entry.State == EntityState.Added ? c.OptedOut : entry.State == EntityState.Modified && Changed(entry, nameof(Contact.OptedOut));
                    if (choiceChanged)
                        events.Add(Create(c.TenantId, c.OptedOut ? EventTypes.ContactOptedOut : EventTypes.ContactOptedIn, c.OptedOutAt ?? now,
                            new ContactData(c.Id, c.Peer, c.Name, c.OptedOut, c.OptOutText)));
                    break;
            }
        }

        foreach (var e in messageEvents)
        {
            var message = messages.GetValueOrDefault(e.MessageId);
            if (e.Status == MessageStatus.Sending) continue;
            if (e.Status == MessageStatus.Received)
            {
                if (message is not null) events.Add(Create(e.TenantId, EventTypes.MessageReceived, e.At, Received(message)));
                continue;
            }
            var data = new MessageStatusData(e.MessageId, message?.SessionId, message?.Peer, e.Status, message?.Class,
                Components.Text.English(message?.StatusReason) is { Length: > 0 } reason ? reason : null, message?.FailureCategory, message?.ProviderMessageId, e.Attempt,
                Components.Text.English(e.Detail) is { Length: > 0 } detail ? detail : null, e.At);
            events.Add(Create(e.TenantId, EventTypes.MessageStatusChanged, e.At, data));
            if (e.Status == MessageStatus.Failed) events.Add(Create(e.TenantId, EventTypes.MessageFailed, e.At, data));
        }

        foreach (var e in sessionEvents)
        {
            var session = sessions.GetValueOrDefault(e.SessionId);
            events.Add(Create(e.TenantId, EventTypes.SessionStateChanged, e.At,
                new SessionStateData(e.SessionId, session?.DisplayName, e.ToState, e.FromState, e.Reason, session?.Phone, e.At,
                    session?.Reference, SessionReference.MetadataOf(session?.Metadata))));
        }

        if (events.Count == 0 && !addedByHand) return;
        db.Events.AddRange(events);
        db.WroteEvents = true;
    }

    private static EventRecord? SessionEventFor(EntityEntry entry, Session s, DateTime now) => entry.State switch
    {
        EntityState.Added => Create(s.TenantId, EventTypes.SessionCreated, now, SessionData.Of(s)),
        EntityState.Modified when (Changed(entry, nameof(Session.QrCode)) || Changed(entry, nameof(Session.PairingCode)))
                                  && (s.QrCode is not null || s.PairingCode is not null) =>
            Create(s.TenantId, EventTypes.SessionQrUpdated, now, new QrData(s.Id, s.DisplayName, s.QrCode, s.PairingCode, s.QrExpiresAt, s.QrRefreshCount,
                s.Reference, SessionReference.MetadataOf(s.Metadata))),
        _ => null,
    };

    private static bool Changed(EntityEntry entry, string property)
    {
        var p = entry.Property(property);
        return p.IsModified && !Equals(p.OriginalValue, p.CurrentValue);
    }

    private static ReceivedData Received(Message m) =>
        new(m.Id, m.SessionId, m.Peer, m.PeerName, m.ContactId, m.Text,
            m.MediaKind is { } kind ? new MediaData(kind, m.MediaMimeType, m.MediaFileName) : null, m.CreatedAt);

    public static EventRecord Create(Guid tenantId, string type, DateTime at, object data, Guid? onlyEndpoint = null)
    {
        var envelope = new Envelope(type, at, data);
        return new EventRecord
        {
            TenantId = tenantId,
            Partition = WorkPartitions.Of(tenantId),
            PublicId = NewId(),
            Type = type,
            OccurredAt = at,
            Payload = JsonSerializer.Serialize(envelope, Json),
            OnlyEndpointId = onlyEndpoint,
        };
    }

    /// <summary>Sessions are deleted set-based (a webhook touching the row must not fail the delete), out of the tracker's sight.</summary>
    public static EventRecord SessionDeleted(Session s, DateTime now) =>
        Create(s.TenantId, EventTypes.SessionDeleted, now, SessionData.Of(s));

    public static string NewId() => "evt_" + Guid.CreateVersion7().ToString("N");

    private sealed record Envelope(string Type, DateTime Timestamp, object Data);
}

public sealed record MessageStatusData(Guid MessageId, Guid? SessionId, string? To, MessageStatus Status, MessageClass? Class, string? Reason,
    string? FailureCategory, string? ProviderMessageId, int? Attempt, string? Detail, DateTime At);

public sealed record MediaData(MediaKind Kind, string? MimeType, string? FileName);

public sealed record ReceivedData(Guid MessageId, Guid? SessionId, string From, string? FromName, Guid? ContactId, string? Text, MediaData? Media, DateTime At);

/// <param name="Reference">The platform's own id for the number; <paramref name="Metadata"/> its JSON object: on every event about a number.</param>
public sealed record SessionStateData(Guid SessionId, string? Name, SessionState State, SessionState PreviousState, string? Reason, string? Phone, DateTime At,
    string? Reference, JsonElement? Metadata);

public sealed record SessionData(Guid SessionId, string Name, SessionState State, string? Reference, JsonElement? Metadata)
{
    public static SessionData Of(Session s) => new(s.Id, s.DisplayName, s.State, s.Reference, SessionReference.MetadataOf(s.Metadata));
}

public sealed record QrData(Guid SessionId, string Name, string? QrCode, string? PairingCode, DateTime? ExpiresAt, int RefreshCount, string? Reference, JsonElement? Metadata);

public sealed record ContactData(Guid ContactId, string Phone, string? Name, bool OptedOut, string? OptOutText);
