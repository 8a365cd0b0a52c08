using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ZapHub.Data;
using ZapHub.Features.Messages;
using ZapHub.Features.Events;
using ZapHub.Features.GatewayWebhooks;
using ZapHub.Features.Gateways;
using ZapHub.Features.Tenancy;
using ZapHub.Gateways;
using ZapHub.Platform;

namespace ZapHub.Features.Sessions;

public sealed record SessionView(
    Guid Id, string DisplayName, SessionState State, string? StateReason, string? RawState, string? Phone, string? ProfileName,
    bool IsPrimary, bool Enabled, int? DailyLimit, int SentToday, Guid GatewayId, GatewayKind GatewayKind, string InstanceName,
    DateTime? ConnectedAt, DateTime? DisconnectedAt, DateTime? LastEventAt, string? LastError, bool HasQr, string? PairingCode,
    DateTime CreatedAt, DateTime UpdatedAt)
{
    /// <summary>What <see cref="LastError"/> (English) says, as a stable code.</summary>
    public string? LastErrorCode => Note.Read(LastErrorNote)?.Code;

    /// <summary>The stored note, for the dashboard to show in the reader's language.</summary>
    [System.Text.Json.Serialization.JsonIgnore] public string? LastErrorNote { get; init; }

    /// <summary>The platform's own id for this number.</summary>
    public string? Reference { get; init; }

    /// <summary>The platform's JSON object kept with the number.</summary>
    public System.Text.Json.JsonElement? Metadata { get; init; }

    /// <summary>Whether the number has its own proxy (the proxy itself, with its credentials, is never shown back).</summary>
    public bool HasProxy { get; init; }

    /// <summary>Since when the number's gateway server does not answer ZapHub (null while it does): nothing reaches WhatsApp through it.</summary>
    public DateTime? GatewayUnreachableSince { get; init; }
}

/// <summary>What a platform sets on a number. Null leaves a field as it is; an empty reference or proxy, or JSON null metadata, clears it.</summary>
public sealed record NumberFields(string? Reference = null, System.Text.Json.JsonElement? Metadata = null, string? Proxy = null);

public sealed record QrView(SessionState State, string? Code, string? Image, string? PairingCode, DateTime? ExpiresAt, int CodesShown, int MaxCodes);

public sealed record TimelineEntry(DateTime At, SessionState From, SessionState To, string Cause, string? Reason, string? RawState);

public sealed record TestMessageResult(string To, string ProviderMessageId);

/// <summary>Session operations for the scope's tenant, shared by the REST API and the dashboard.</summary>
public sealed class SessionService(
    ZapHubDb db, TenantContext tenant, GatewayClients clients, AuditLog audit, TimeProvider time, IOptions<SessionOptions> options,
    SessionSecrets secrets, SessionNotifier notifier, Reconciler reconciler)
{
    /// <summary>All the tenant's numbers, for pickers (a sender list); lists people read use <see cref="PageAsync"/>.</summary>
    public async Task<IReadOnlyList<SessionView>> ListAsync(SessionState? state, CancellationToken ct, string? reference = null) =>
        (await PageAsync(new SessionFilter(state, reference, null), 1, Paging.MaxPageSize, ct)).Items;

    /// <summary>One page of the tenant's numbers, the primary first, then oldest first.</summary>
    public async Task<Paged<SessionView>> PageAsync(SessionFilter filter, int? page, int? pageSize, CancellationToken ct)
    {
        var rows = await filter.Apply(db.Sessions.AsNoTracking()).OrderByDescending(x => x.IsPrimary).ThenBy(x => x.CreatedAt).ThenBy(x => x.Id).PageAsync(page, pageSize, 50, ct);
        var kinds = await KindsAsync(ct);
        var today = await TodayAsync(ct);
        return new Paged<SessionView>(rows.Items.Select(r => View(r, kinds, today)).ToList(), rows.Total, rows.Page, rows.PageSize);
    }

    /// <summary>How many of the tenant's numbers are in each state (one grouped query).</summary>
    public async Task<IReadOnlyDictionary<SessionState, int>> CountByStateAsync(CancellationToken ct) =>
        await db.Sessions.GroupBy(x => x.State).Select(g => new { g.Key, Count = g.Count() }).ToDictionaryAsync(x => x.Key, x => x.Count, ct);

    public async Task<SessionView> GetAsync(Guid id, CancellationToken ct) =>
        View(await FindAsync(id, ct, tracking: false), await KindsAsync(ct), await TodayAsync(ct));

    public async Task<SessionView> CreateAsync(Actor actor, string displayName, Guid? gatewayId, GatewayKind? kind, CancellationToken ct, NumberFields? fields = null)
    {
        displayName = displayName?.Trim() ?? "";
        if (displayName.Length is 0 or > 100)
            throw ProblemException.Invalid("displayName", "session_name", "Give the number a name of 1 to 100 characters, e.g. \"Recepção\".");
        var tenantId = tenant.RequireTenant();
        var limit = await db.Tenants.Where(t => t.Id == tenantId).Select(t => t.MaxSessions).FirstAsync(ct);
        if (await db.Sessions.CountAsync(ct) >= limit)
            throw ProblemException.Conflict("session_limit", $"Your plan allows {limit} numbers; remove one or ask the operator for more.");

        var gateway = await PlaceAsync(tenantId, gatewayId, kind, ct);
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        var now = time.UtcNow();
        var instanceName = await NewInstanceNameAsync(gateway.Id, ct);

        var session = new Session
        {
            TenantId = tenantId,
            GatewayId = gateway.Id,
            DisplayName = displayName,
            InstanceName = instanceName,
            ProtectedCallbackSecret = clients.ProtectSessionSecret(secret),
            CallbackSecretHash = SHA256.HashData(Encoding.UTF8.GetBytes(secret)),
            IsPrimary = !await db.Sessions.AnyAsync(ct),
            CreatedAt = now,
            UpdatedAt = now,
        };
        Apply(session, fields);
        db.Sessions.Add(session);
        audit.Add(db, actor, tenantId, "session.created", "session", session.Id.ToString(), Note.Of("audit_session_created", ("name", displayName), ("gateway", gateway.Name)).Store());
        await db.SaveChangesAsync(ct);
        notifier.Publish(tenantId, session.Id);
        return await GetAsync(session.Id, ct);
    }

    public async Task<SessionView> ConnectAsync(Actor actor, Guid id, string? pairingPhone, CancellationToken ct)
    {
        var (session, gateway) = await LoadAsync(id, ct);
        if (!session.Enabled) throw ProblemException.Conflict("session_disabled", "This number is disabled; enable it first.");
        if (session.State == SessionState.Connected) throw ProblemException.Conflict("already_connected", "This number is already connected.");
        var phone = pairingPhone is null ? null : PhoneNumberRules.Digits(PhoneNumberRules.ToE164(pairingPhone, "phone"));
        var applied = false;

        var outcome = await CallAsync(session, async g =>
        {
            var target = await EnsureProvisionedAsync(session, gateway, g, ct);
            // Both gateways ignore a phone number on an attempt already running (Evolution reads ?number= only from
            // "close"; WPPConnect ignores the body of a started session): end that attempt first.
            if (phone is not null && session.State is SessionState.Starting or SessionState.AwaitingScan or SessionState.Pairing)
            {
                var change = await RecordStopAsync(session, gateway, await g.CloseAsync(target, ct), ct);
                await SaveAsync(session, () => change.ApplyTo(session), ct);
                target = await EnsureProvisionedAsync(session, gateway, g, ct);
            }
            try
            {
                return await g.ConnectAsync(target, phone, ct);
            }
            catch (GatewayException ex) when (ex.Failure == GatewayFailure.InstanceMissing)
            {
                // The gateway lost the instance (deleted there, or restarted without its data): no dead end, create it again.
                await SaveAsync(session, () => (session.ProvisionedAt, session.ProtectedProviderToken) = (null, null), ct);
                target = await EnsureProvisionedAsync(session, gateway, g, ct);
                return await g.ConnectAsync(target, phone, ct);
            }
        }, ct);

        await SaveAsync(session, () =>
        {
            var now = time.UtcNow();
            session.PairingPhone = phone is null ? null : "+" + phone;
            // Applied again only when a webhook changed the session meanwhile: the gateway's webhooks can overtake its
            // answer (WPPConnect answers at once and posts the pairing code after), and resetting the attempt they
            // already moved on would wipe the code they brought.
            if (applied && session.State is SessionState.AwaitingScan or SessionState.Pairing or SessionState.Connected) return;
            applied = true;
            session.QrRefreshCount = 0;
            session.QrCode = session.QrImage = session.PairingCode = null;
            session.StartingSince = now;
            session.LastError = null;
            Record(SessionLifecycle.Apply(session, new StateSignal("connect", SessionState.Starting, "connect"), Causes.User, now));
            if (outcome.AlreadyConnected)
                Record(SessionLifecycle.Apply(session, new StateSignal("connect", SessionState.Connected, "open"), Causes.User, now));
            else if (outcome.QrCode is not null || outcome.PairingCode is not null)
                Record(SessionLifecycle.ApplyQr(session, new QrSignal("connect", outcome.QrCode, outcome.QrImageDataUrl, outcome.PairingCode), clients.ProviderOf(gateway).QrLifetime, Causes.User, now));
        }, ct);
        audit.Add(db, actor, session.TenantId, "session.connect", "session", session.Id.ToString(), (phone is null ? Note.Of("audit_connect_qr") : Note.Of("audit_connect_pairing", ("phone", "+" + phone))).Store());
        await db.SaveChangesAsync(ct);
        return await GetAsync(id, ct);
    }

    public async Task<QrView> GetQrAsync(Guid id, CancellationToken ct)
    {
        var s = await FindAsync(id, ct, tracking: false);
        var showing = s.State == SessionState.AwaitingScan;
        return new QrView(s.State, showing ? s.QrCode : null, showing ? s.QrImage : null, showing ? s.PairingCode : null,
            showing ? s.QrExpiresAt : null, s.QrRefreshCount, options.Value.MaxQrCodes);
    }

    public Task<SessionView> LogoutAsync(Actor actor, Guid id, CancellationToken ct) =>
        EndAsync(actor, id, "session.logout", SessionReasons.LoggedOut, (g, target) => g.LogoutAsync(target, ct), ct);

    public Task<SessionView> CloseAsync(Actor actor, Guid id, CancellationToken ct) =>
        EndAsync(actor, id, "session.close", SessionReasons.Closed, (g, target) => g.CloseAsync(target, ct), ct);

    /// <summary>
    /// Stops the number on its gateway and records Disconnected only once the gateway said it stopped; what only the operator
    /// can clean is recorded on the gateway, and a name the gateway still holds is replaced for the next attempt.
    /// </summary>
    private async Task<SessionView> EndAsync(Actor actor, Guid id, string action, string reason, Func<IGateway, GatewaySession, Task<StopResult>> call, CancellationToken ct)
    {
        var (session, gateway) = await LoadAsync(id, ct);
        var change = session.ProvisionedAt is null ? StopChange.None
            : await RecordStopAsync(session, gateway, await CallAsync(session, g => call(g, Target(session)), ct), ct);
        audit.Add(db, actor, session.TenantId, action, "session", session.Id.ToString(), session.DisplayName);
        await SaveAsync(session, () =>
        {
            change.ApplyTo(session);
            Record(SessionLifecycle.Apply(session, new StateSignal(action, SessionState.Disconnected, action, reason), Causes.User, time.UtcNow()));
        }, ct);
        return await GetAsync(id, ct);
    }

    public async Task<SessionView> RestartAsync(Actor actor, Guid id, CancellationToken ct)
    {
        var (session, _) = await LoadAsync(id, ct);
        if (session.ProvisionedAt is null || session.State is SessionState.Created or SessionState.Disabled)
            throw ProblemException.Conflict("session_not_started", "This number was never connected; connect it instead.");
        // Starting is recorded before the call: a gateway that reconnects at once reports "open" right away, and that
        // report must land after ours, not be overwritten by it. If the call fails, the reconciler reads the real state.
        audit.Add(db, actor, session.TenantId, "session.restart", "session", session.Id.ToString(), session.DisplayName);
        await SaveAsync(session, () => Record(SessionLifecycle.Apply(session, new StateSignal("restart", SessionState.Starting, "restart"), Causes.User, time.UtcNow())), ct);
        await CallAsync(session, async g => { await g.RestartAsync(Target(session), ct); return true; }, ct);
        return await GetAsync(id, ct);
    }

    public async Task DeleteAsync(Actor actor, Guid id, CancellationToken ct)
    {
        var (session, gateway) = await LoadAsync(id, ct);
        if (session.ProvisionedAt is not null)
            await RecordStopAsync(session, gateway, await CallAsync(session, g => g.DeleteAsync(Target(session), ct), ct), ct);
        // Set-based: a webhook touching the row at the same moment must not make the delete fail.
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        await db.Sessions.Where(s => s.Id == id).ExecuteDeleteAsync(ct);
        db.Entry(session).State = EntityState.Detached;
        audit.Add(db, actor, session.TenantId, "session.deleted", "session", session.Id.ToString(), $"{session.DisplayName} {session.Phone}");
        db.Events.Add(EventCapture.SessionDeleted(session, time.UtcNow()));
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        secrets.Forget(session.Id);
        notifier.Publish(session.TenantId, session.Id);
    }

    public async Task<SessionView> SetPrimaryAsync(Actor actor, Guid id, CancellationToken ct)
    {
        var session = await FindAsync(id, ct);
        // Set-based, so a webhook updating these rows at the same moment cannot undo it.
        await db.Sessions.Where(s => s.IsPrimary && s.Id != id).ExecuteUpdateAsync(u => u.SetProperty(s => s.IsPrimary, false).SetProperty(s => s.Version, s => s.Version + 1), ct);
        await db.Sessions.Where(s => s.Id == id).ExecuteUpdateAsync(u => u.SetProperty(s => s.IsPrimary, true).SetProperty(s => s.Version, s => s.Version + 1), ct);
        audit.Add(db, actor, session.TenantId, "session.primary", "session", session.Id.ToString(), session.DisplayName);
        await db.SaveChangesAsync(ct);
        notifier.Publish(session.TenantId, session.Id);
        return await GetAsync(id, ct);
    }

    public async Task<SessionView> SetEnabledAsync(Actor actor, Guid id, bool enabled, CancellationToken ct)
    {
        var (session, gateway) = await LoadAsync(id, ct);
        if (session.Enabled == enabled) return await GetAsync(id, ct);
        var change = StopChange.None;
        if (!enabled && session.ProvisionedAt is not null)
        {
            // Best effort: a gateway that is down must not keep a number switched on.
            try { change = await CloseOnGatewayAsync(session, gateway, ct); } catch (GatewayException) { }
        }
        await SaveAsync(session, () =>
        {
            var now = time.UtcNow();
            change.ApplyTo(session);
            session.Enabled = enabled;
            if (!enabled)
            {
                Record(SessionLifecycle.Apply(session, new StateSignal("disable", SessionState.Disabled, "disabled"), Causes.User, now));
                return;
            }
            var from = session.State;
            session.State = SessionState.Disconnected;
            session.StateReason = SessionReasons.Closed;
            Record(new SessionEvent { TenantId = session.TenantId, SessionId = session.Id, At = now, FromState = from, ToState = SessionState.Disconnected, Cause = Causes.User, Reason = "enabled" });
        }, ct);
        audit.Add(db, actor, session.TenantId, enabled ? "session.enabled" : "session.disabled", "session", session.Id.ToString(), session.DisplayName);
        await db.SaveChangesAsync(ct);
        return await GetAsync(id, ct);
    }

    public async Task<SessionView> UpdateAsync(Actor actor, Guid id, string? displayName, int? dailyLimit, bool clearDailyLimit, CancellationToken ct, NumberFields? fields = null)
    {
        if (displayName is not null && displayName.Trim().Length is 0 or > 100)
            throw ProblemException.Invalid("displayName", "session_name", "Give the number a name of 1 to 100 characters.");
        if (dailyLimit is < 1 or > 100_000)
            throw ProblemException.Invalid("dailyLimit", "daily_limit", "The daily limit must be between 1 and 100000 messages.");
        var session = await FindAsync(id, ct);
        await SaveAsync(session, () =>
        {
            if (displayName is not null) session.DisplayName = displayName.Trim();
            if (dailyLimit is not null) session.DailyLimit = dailyLimit;
            if (clearDailyLimit) session.DailyLimit = null;
            Apply(session, fields);
            session.UpdatedAt = time.UtcNow();
        }, ct);
        audit.Add(db, actor, session.TenantId, "session.settings", "session", session.Id.ToString(), Note.Of("audit_session_settings", ("name", session.DisplayName), ("limit", session.DailyLimit?.ToString() ?? Note.Key("word.unlimited"))).Store());
        await db.SaveChangesAsync(ct);
        return await GetAsync(id, ct);
    }

    /// <summary>The direct test send: no queue, no retry. A clear error for a bad number or a disconnected session.</summary>
    public async Task<TestMessageResult> SendTestAsync(Actor actor, Guid id, string to, string? text, CancellationToken ct)
    {
        var e164 = PhoneNumberRules.ToE164(to);
        text = string.IsNullOrWhiteSpace(text) ? "Mensagem de teste do ZapHub ✅" : text.Trim();
        if (text.Length > 4096) throw ProblemException.Invalid("text", "text_long", "The text may have at most 4096 characters.");
        var (session, _) = await LoadAsync(id, ct);
        if (session.State != SessionState.Connected)
            throw ProblemException.Conflict("session_not_connected", "This number is not connected; connect it before sending.");
        var today = await TodayAsync(ct);
        if (session.SentTodayDate != today) (session.SentToday, session.SentTodayDate) = (0, today);
        if (session.DailyLimit is { } limit && session.SentToday >= limit)
            throw ProblemException.Conflict("daily_limit_reached", $"This number reached its daily limit of {limit} messages.");

        var sent = await CallAsync(session, g => g.SendAsync(Target(session), new OutgoingMessage(PhoneNumberRules.Digits(e164), text), ct), ct);
        audit.Add(db, actor, session.TenantId, "session.test_message", "session", session.Id.ToString(), Note.Of("audit_test_message", ("to", e164)).Store());
        // A test message is a message like any other: it is listed with the rest and follows its receipts.
        var now = time.UtcNow();
        var message = new Message
        {
            TenantId = session.TenantId, SessionId = session.Id, Direction = MessageDirection.Outbound, Route = MessageRoute.Session, Peer = e164, Text = text,
            Status = MessageStatus.Sent, ProviderMessageId = sent.ProviderMessageId, Attempts = 1, DueAt = now, SentAt = now, CreatedAt = now, UpdatedAt = now,
        };
        db.Messages.Add(message);
        db.MessageEvents.Add(new MessageEvent
        {
            TenantId = session.TenantId, MessageId = message.Id, At = now, Status = MessageStatus.Sent, Attempt = 1,
            Detail = Note.Of("test_sent", ("number", session.DisplayName)).Store(),
        });
        await SaveAsync(session, () =>
        {
            if (session.SentTodayDate != today) (session.SentToday, session.SentTodayDate) = (0, today);
            session.SentToday++;
        }, ct);
        return new TestMessageResult(e164, sent.ProviderMessageId);
    }

    public async Task<IReadOnlyList<TimelineEntry>> TimelineAsync(Guid id, CancellationToken ct)
    {
        await FindAsync(id, ct, tracking: false);
        return await db.SessionEvents.AsNoTracking().Where(e => e.SessionId == id).OrderByDescending(e => e.Id).Take(500)
            .Select(e => new TimelineEntry(e.At, e.FromState, e.ToState, e.Cause, e.Reason, e.RawState)).ToListAsync(ct);
    }

    // ---- helpers ----------------------------------------------------------------------------------------

    private void Record(SessionEvent? e)
    {
        if (e is not null) db.SessionEvents.Add(e);
    }

    /// <summary>
    /// Applies a change and saves it. When the webhook processor or the reconciler changed the session meanwhile,
    /// the row is read again and the change re-applied on top, instead of overwriting a newer state.
    /// </summary>
    public async Task SaveAsync(Session session, Action apply, CancellationToken ct)
    {
        apply();
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await db.SaveChangesAsync(ct);
                notifier.Publish(session.TenantId, session.Id);
                return;
            }
            catch (DbUpdateConcurrencyException) when (attempt < 5)
            {
                foreach (var pending in db.ChangeTracker.Entries<SessionEvent>().Where(e => e.State == EntityState.Added && e.Entity.SessionId == session.Id).ToList())
                    pending.State = EntityState.Detached;
                await db.Entry(session).ReloadAsync(ct);
                apply();
            }
        }
    }

    private async Task<Session> FindAsync(Guid id, CancellationToken ct, bool tracking = true)
    {
        var query = tracking ? db.Sessions : db.Sessions.AsNoTracking();
        return await query.FirstOrDefaultAsync(s => s.Id == id, ct) ?? throw ProblemException.NotFound("Session");
    }

    private async Task<(Session, Gateway)> LoadAsync(Guid id, CancellationToken ct)
    {
        var session = await FindAsync(id, ct);
        var gateway = await db.Gateways.FirstAsync(g => g.Id == session.GatewayId, ct);
        return (session, gateway);
    }

    /// <summary>
    /// The gateway a new (or moved) number goes to: among the enabled ones open to the tenant and not draining, with room,
    /// the tenant's own gateways first, then those that answer, then the emptiest. A named gateway is used as asked, if it
    /// has room. <paramref name="except"/> is the gateway a moving number leaves.
    /// </summary>
    private async Task<Gateway> PlaceAsync(Guid tenantId, Guid? gatewayId, GatewayKind? kind, CancellationToken ct, Guid? except = null)
    {
        var sessions = db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]);
        var candidates = await db.Gateways.AsNoTracking()
            .Where(g => g.Enabled && (g.OwnerTenantId == null || g.OwnerTenantId == tenantId) && g.Id != except)
            .Where(g => gatewayId == null ? !g.Draining : g.Id == gatewayId)
            .Where(g => kind == null || g.Kind == kind)
            .Select(g => new { Gateway = g, Used = sessions.Count(s => s.GatewayId == g.Id) })
            .ToListAsync(ct);
        if (gatewayId is not null && candidates.Count == 0)
            throw ProblemException.Invalid("gatewayId", "gateway_unknown", "No enabled gateway with that id is available to you.");
        var room = candidates.Where(c => c.Used < c.Gateway.Capacity)
            .OrderByDescending(c => c.Gateway.OwnerTenantId == tenantId)
            .ThenBy(c => c.Gateway.UnreachableSince is not null)
            .ThenBy(c => (double)c.Used / c.Gateway.Capacity).FirstOrDefault();
        return room?.Gateway ?? throw ProblemException.Conflict("no_gateway_capacity",
            candidates.Count == 0 ? "No gateway is available yet; the operator must register one." : "Every gateway is full; the operator must add capacity.");
    }

    /// <summary>
    /// The operator moves a number that is not linked to another gateway (its own is draining or gone): the instance is
    /// deleted on the old gateway where it answers (a leftover is recorded where it does not), and the number gets a new
    /// name on the new one, where its next connect provisions it and asks for a scan.
    /// </summary>
    public async Task<SessionView> MoveAsync(Actor actor, Guid id, Guid? toGatewayId, CancellationToken ct)
    {
        var (session, from) = await LoadAsync(id, ct);
        if (session.State is SessionState.Connected or SessionState.Starting or SessionState.AwaitingScan or SessionState.Pairing)
            throw ProblemException.Conflict("session_linked", "Only a number that is not connected (nor connecting) can move; disconnect it first.");
        var to = await PlaceAsync(session.TenantId, toGatewayId, null, ct, except: from.Id);
        if (session.ProvisionedAt is not null)
        {
            try { await RecordStopAsync(session, from, await clients.For(from).DeleteAsync(Target(session), ct), ct); }
            catch (GatewayException)
            {
                db.GatewayLeftovers.Add(new GatewayLeftover { GatewayId = from.Id, TenantId = session.TenantId, InstanceName = session.InstanceName, Kind = Leftovers.MovedAway, FoundAt = time.UtcNow() });
            }
        }
        var name = await NewInstanceNameAsync(to.Id, ct);
        audit.Add(db, actor, session.TenantId, "session.moved", "session", session.Id.ToString(), $"{session.DisplayName}: {from.Name} → {to.Name}");
        await SaveAsync(session, () =>
        {
            (session.GatewayId, session.InstanceName, session.ProvisionedAt, session.ProtectedProviderToken) = (to.Id, name, null, null);
            (session.QrCode, session.PairingCode, session.LastError) = (null, null, null);
        }, ct);
        notifier.Publish(session.TenantId, session.Id);
        return await GetAsync(id, ct);
    }

    private async Task<GatewaySession> EnsureProvisionedAsync(Session session, Gateway gateway, IGateway g, CancellationToken ct)
    {
        if (session.ProvisionedAt is null)
        {
            var provisioned = await g.ProvisionAsync(Target(session), ct);
            var token = provisioned.ProviderToken is null ? null : clients.ProtectSessionSecret(provisioned.ProviderToken);
            // Saved at once: the instance now exists on the gateway whatever happens next.
            await SaveAsync(session, () => (session.ProtectedProviderToken, session.ProvisionedAt) = (token, time.UtcNow()), ct);
        }
        return Target(session);
    }

    /// <summary>
    /// Ends an attempt on the gateway (close), without user-facing errors. What it left for the operator is added to the
    /// context; the change it needs on the session row is returned, for the caller to apply in its save.
    /// </summary>
    public async Task<StopChange> CloseOnGatewayAsync(Session session, Gateway gateway, CancellationToken ct) =>
        session.ProvisionedAt is null ? StopChange.None : await RecordStopAsync(session, gateway, await clients.For(gateway).CloseAsync(Target(session), ct), ct);

    /// <summary>
    /// A stop's aftermath: an instance the gateway no longer has is provisioned again by the next connect; a name something
    /// on the gateway still holds (a locked browser) is replaced by a fresh one. Leftovers go to the operator (added to the
    /// context, not saved here).
    /// </summary>
    private async Task<StopChange> RecordStopAsync(Session session, Gateway gateway, StopResult stop, CancellationToken ct)
    {
        foreach (var left in stop.LeftBehind)
            db.GatewayLeftovers.Add(new GatewayLeftover { GatewayId = gateway.Id, TenantId = session.TenantId, InstanceName = left.InstanceName, Kind = left.Kind, FoundAt = time.UtcNow() });
        return stop.Aftermath switch
        {
            StopAftermath.Removed => new StopChange(true, null),
            StopAftermath.NameBlocked => new StopChange(true, await NewInstanceNameAsync(gateway.Id, ct)),
            _ => StopChange.None,
        };
    }

    private async Task<string> NewInstanceNameAsync(Guid gatewayId, CancellationToken ct)
    {
        var taken = db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]);
        var left = db.GatewayLeftovers;
        string name;
        do name = SessionNames.New();
        while (await taken.AnyAsync(s => s.GatewayId == gatewayId && s.InstanceName == name, ct) || await left.AnyAsync(l => l.GatewayId == gatewayId && l.InstanceName == name, ct));
        return name;
    }

    /// <summary>For the dispatcher: a send on this number was answered "not connected".</summary>
    public async Task ReportNotConnectedAsync(Guid sessionId, CancellationToken ct)
    {
        var session = await db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).FirstOrDefaultAsync(s => s.Id == sessionId, ct);
        if (session is null) return;
        await SaveAsync(session, () => MarkNotConnected(session), ct);
        reconciler.CheckSoon(session.Id);
    }

    /// <summary>
    /// A gateway answered a call on this number with "not connected": the number leaves Connected at once, whatever
    /// ZapHub believed. The caller saves, then has the reconciler read the gateway's real state: asked before the save,
    /// it could read the row still Connected and its answer cross this one.
    /// </summary>
    private void MarkNotConnected(Session session)
    {
        if (session.State != SessionState.Connected) return;
        if (SessionLifecycle.Apply(session, new StateSignal("send", SessionState.Disconnected, "not_connected", SessionReasons.GatewayNotConnected), Causes.Send, time.UtcNow()) is { } change)
            db.SessionEvents.Add(change);
    }

    /// <summary>For the reconciler: create the instance again on a gateway that lost it.</summary>
    public async Task ReprovisionAsync(Session session, Gateway gateway, CancellationToken ct)
    {
        var provisioned = await clients.For(gateway).ProvisionAsync(Target(session), ct);
        if (provisioned.ProviderToken is not null) session.ProtectedProviderToken = clients.ProtectSessionSecret(provisioned.ProviderToken);
        session.ProvisionedAt = time.UtcNow();
    }

    public GatewaySession TargetOf(Session session) => Target(session);

    public Uri CallbackUrl(Session session) =>
        new($"{clients.CallbackBase().ToString().TrimEnd('/')}/hooks/gateway/{session.Id}/{clients.UnprotectSessionSecret(session.ProtectedCallbackSecret)}");

    private GatewaySession Target(Session session) =>
        new(session.InstanceName, session.ProtectedProviderToken is null ? null : clients.UnprotectSessionSecret(session.ProtectedProviderToken), CallbackUrl(session),
            session.ProtectedProxy is { } proxy ? SessionReference.Proxy(clients.UnprotectSessionSecret(proxy)) : null);

    /// <summary>Runs a gateway call and turns its failure into a problem the user can read; the error is kept on the session.</summary>
    private async Task<T> CallAsync<T>(Session session, Func<IGateway, Task<T>> call, CancellationToken ct)
    {
        var gateway = await db.Gateways.AsNoTracking().FirstAsync(g => g.Id == session.GatewayId, ct);
        try
        {
            return await call(clients.For(gateway));
        }
        catch (GatewayException ex)
        {
            var outcome = GatewayFailureOutcome.Of(ex);
            await SaveAsync(session, () =>
            {
                session.LastError = GatewayFailureOutcome.NoteOf(ex);
                if (outcome.NumberDown) MarkNotConnected(session);
            }, CancellationToken.None);
            if (outcome.NumberDown) reconciler.CheckSoon(session.Id);
            throw ToProblem(outcome);
        }
    }

    private static ProblemException ToProblem(GatewayFailureOutcome outcome) => outcome.Status == 400
        ? ProblemException.Invalid("to", outcome.ProblemCode, outcome.Detail)
        : new ProblemException(outcome.Status, outcome.ProblemCode, outcome.Detail);

    private sealed record GatewayFacts(GatewayKind Kind, DateTime? UnreachableSince);

    private async Task<Dictionary<Guid, GatewayFacts>> KindsAsync(CancellationToken ct) =>
        await db.Gateways.AsNoTracking().ToDictionaryAsync(g => g.Id, g => new GatewayFacts(g.Kind, g.UnreachableSince), ct);

    private async Task<string> TodayAsync(CancellationToken ct)
    {
        var zone = await db.Tenants.Where(t => t.Id == tenant.TenantId).Select(t => t.TimeZone).FirstOrDefaultAsync(ct) ?? Features.Tenancy.Tenant.DefaultTimeZone;
        return TenantDay(time.GetUtcNow(), zone);
    }

    /// <summary>The tenant's calendar day: daily limits reset at local midnight, not UTC midnight.</summary>
    public static string TenantDay(DateTimeOffset now, string timeZone) =>
        TimeZoneInfo.ConvertTime(now, TimeZoneInfo.FindSystemTimeZoneById(timeZone)).ToString("yyyy-MM-dd");

    private static SessionView View(Session s, Dictionary<Guid, GatewayFacts> kinds, string today) =>
        new(s.Id, s.DisplayName, s.State, s.StateReason, s.RawState, s.Phone, s.ProfileName, s.IsPrimary, s.Enabled, s.DailyLimit,
            s.SentTodayDate == today ? s.SentToday : 0, s.GatewayId, kinds.GetValueOrDefault(s.GatewayId)?.Kind ?? default, s.InstanceName,
            s.ConnectedAt, s.DisconnectedAt, s.LastEventAt, Components.Text.English(s.LastError) is { Length: > 0 } error ? error : null, s.State == SessionState.AwaitingScan && (s.QrCode ?? s.PairingCode) is not null,
            s.State == SessionState.AwaitingScan ? s.PairingCode : null, s.CreatedAt, s.UpdatedAt)
        {
            LastErrorNote = s.LastError, Reference = s.Reference, Metadata = SessionReference.MetadataOf(s.Metadata),
            HasProxy = s.ProtectedProxy is not null, GatewayUnreachableSince = kinds.GetValueOrDefault(s.GatewayId)?.UnreachableSince,
        };

    /// <summary>
    /// Sets what a platform keeps on a number. A new proxy reaches the gateway the next time the number is started:
    /// the instance is provisioned again (Evolution takes it on its instance, WPPConnect in each start).
    /// </summary>
    private void Apply(Session session, NumberFields? fields)
    {
        if (fields is null) return;
        if (SessionReference.Reference(fields.Reference) is { } reference) session.Reference = reference.Length > 0 ? reference : null;
        if (SessionReference.Metadata(fields.Metadata) is { } metadata) session.Metadata = metadata.Length > 0 ? metadata : null;
        if (fields.Proxy is { } proxy)
        {
            var parsed = SessionReference.Proxy(proxy);
            session.ProtectedProxy = parsed is null ? null : clients.ProtectSessionSecret(proxy.Trim());
            session.ProvisionedAt = null;
        }
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
