using ZapHub.Platform;
using ZapHub.Platform.Cluster;
using ZapHub.Features.GatewayWebhooks;
using Microsoft.EntityFrameworkCore;
using ZapHub.Data;
using ZapHub.Features.Sessions;
using ZapHub.Gateways;

namespace ZapHub.Features.Messages;

/// <summary>The result of trying to start a send; <c>Unavailable</c>: the number dropped, was disabled or paused since it was read.</summary>
public enum BeginResult { Started, SlotBusy, LimitReached, Gone, Unavailable }

/// <summary>How a send call ended.</summary>
/// <summary>How a send ended: sent, retried later, held (the number cannot send; the attempt does not count) or failed.</summary>
public sealed record SendOutcome(string? ProviderMessageId, string? Category, string? Reason, bool Retry, DateTime? RetryAt = null, DateTime? PauseUntil = null, bool Hold = false)
{
    /// <summary>The message's status reason as a stored note, when it says more than the failure itself (gave up, expired).</summary>
    public string? Explained { get; init; }

    /// <summary>What the message shows as its status reason: read in each reader's language, the gateway's own words kept for English.</summary>
    public string? StatusNote => Explained ?? (Reason is null ? null : Note.Of("send_failed", ("category", Note.Key("mcat." + Category)), ("detail", Reason)).Store());

    public MessageStatus Status => Sent ? MessageStatus.Sent : Hold ? MessageStatus.Held : Retry ? MessageStatus.Queued : MessageStatus.Failed;

    public bool Sent => ProviderMessageId is not null;
    public static SendOutcome Delivered(string id) => new(id, null, null, false);
}

/// <summary>
/// The dispatcher's durable steps, committed by one writer in groups: "this send starts now" (the message becomes
/// Sending and the number's slot and daily count are taken, atomically, before the gateway is called) and "this
/// send ended". Many lanes' steps share one transaction, so SQLite's single writer and PostgreSQL's commit flushes
/// are paid once per group, not once per message; each caller still waits for the commit that holds its step. A
/// group's steps are a few set-based statements (raw SQL: EF Core's ExecuteUpdate takes one statement per row).
/// </summary>
public sealed class DispatchLedger : BackgroundService
{
    private static readonly MessageStatus[] InFlight = [MessageStatus.Sending, MessageStatus.InDoubt];

    public sealed record Begin(Guid MessageId, MessageStatus Was, Guid SessionId, DateTime Now, string Today, int? DailyLimit, DateTime SlotLockUntil, DateTime LeaseUntil);

    public sealed record End(Guid MessageId, Guid TenantId, Guid SessionId, int Attempt, string Today, DateTime At, SendOutcome Outcome, DateTime NextSendAt, string Detail);

    private readonly IServiceScopeFactory scopes;
    private readonly NodeIdentity node;
    private readonly PendingReceiptChecks pendingReceipts;
    private readonly SignalProcessor processor;
    private readonly WriteGate writeGate;
    private readonly GroupCommit<object, (BeginResult, DateTime?)> groups;

    public DispatchLedger(IServiceScopeFactory scopes, NodeIdentity node, PendingReceiptChecks pendingReceipts, SignalProcessor processor, WriteGate writeGate, ILogger<DispatchLedger> logger)
    {
        (this.scopes, this.node, this.pendingReceipts, this.processor, this.writeGate) = (scopes, node, pendingReceipts, processor, writeGate);
        groups = new(256, CommitAsync, logger);
    }

    /// <summary>Started, or why not: the slot is taken until the returned time, the daily limit is reached, or the message is no longer ours.</summary>
    public Task<(BeginResult Result, DateTime? BusyUntil)> BeginAsync(Begin step) => groups.SubmitAsync(step);

    public Task EndAsync(End step) => groups.SubmitAsync(step);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => groups.RunAsync(steps =>
    {
        var sent = steps.OfType<End>().Where(e => e.Outcome.Sent).Select(e => new RecordedSend(e.SessionId, e.Outcome.ProviderMessageId!)).ToList();
        if (sent.Count > 0)
        {
            // Receipts that raced these sends can now find their message.
            pendingReceipts.Recorded(sent);
            processor.Wake();
        }
    }, stoppingToken);

    private static Guid SessionOf(object step) => step switch { Begin b => b.SessionId, End e => e.SessionId, _ => Guid.Empty };

    private async Task<(BeginResult, DateTime?)[]> CommitAsync(IReadOnlyList<object> batch, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        scope.ServiceProvider.GetRequiredService<TenantContext>().UseWorkerScope();
        var db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        using var turn = await writeGate.EnterAsync(db, ct);
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var results = new (BeginResult, DateTime?)[batch.Count];
        if (db is PostgresZapHubDb)
        {
            // The numbers' rows first, in one order on every node: two groups can wait on each other but never deadlock.
            // NO KEY: the lock an update takes anyway, which still lets inserts that reference the number check their key.
            var numbers = new Sql(db);
            var n = SqlNames.Of<Session>(db);
            await numbers.ExecuteAsync(db,
                $"SELECT 1 FROM {n} WHERE {n["Id"]} {numbers.In(batch.Select(SessionOf).Distinct())} ORDER BY {n["Id"]} FOR NO KEY UPDATE", ct);
        }
        // Ends first: a lane submits its next start right after the last end, and that start must find the slot freed.
        var ends = batch.OfType<End>().ToList();
        if (ends.Count > 0) await EndAllAsync(db, ends, ct);
        var begins = Enumerable.Range(0, batch.Count).Where(i => batch[i] is Begin).ToList();
        if (begins.Count > 0) await BeginAllAsync(db, begins.Select(i => (Begin)batch[i]).ToList(), begins, results, ct);
        // Loaded after the updates, so the events the timeline rows become carry each message's current state.
        var ended = ends.Select(e => e.MessageId).ToList();
        if (ended.Count > 0) await db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(m => ended.Contains(m.Id)).LoadAsync(ct);
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return results;
    }

    /// <summary>
    /// A group's starts in two statements: its messages become Sending (those still ours), then their numbers' slots and
    /// daily counts are taken in one conditional update, so two nodes can never both take the same slot.
    /// </summary>
    private async Task BeginAllAsync(ZapHubDb db, List<Begin> steps, List<int> positions, (BeginResult, DateTime?)[] results, CancellationToken ct)
    {
        // One start per number per group: a node runs one lane per number, so a second one would be a bug; it waits its turn.
        var first = steps.DistinctBy(b => b.SessionId).ToHashSet();
        var take = new Sql(db);
        var m = SqlNames.Of<Message>(db);
        var taken = await take.IdsAsync(db,
            $"UPDATE {m} SET {m["Status"]} = 'Sending', {m["Attempts"]} = {m["Attempts"]} + 1, {m["LeaseUntil"]} = {take.P(steps.Max(b => b.LeaseUntil))}, " +
            $"{m["StatusReason"]} = NULL, {m["UpdatedAt"]} = {take.P(steps.Max(b => b.Now))}, {m["Version"]} = {m["Version"]} + 1 " +
            $"WHERE {m["LeaseOwner"]} = {take.P(node.Id)} AND {m["Status"]} IN ('Queued', 'Scheduled', 'Held') AND {m["Id"]} {take.In(first.Select(b => b.MessageId))} " +
            $"RETURNING {m["Id"]} AS \"Value\"", ct);
        var mine = steps.Where(b => taken.Contains(b.MessageId)).ToList();
        var slotted = new HashSet<Guid>();
        if (mine.Count > 0)
        {
            var slot = new Sql(db);
            var n = SqlNames.Of<Session>(db);
            string S(string column) => $"{n}.{n[column]}";
            var rows = slot.Rows(mine, b => b.SessionId, b => b.Today, b => b.DailyLimit ?? int.MaxValue, b => b.Now, b => b.SlotLockUntil);
            slotted = await slot.IdsAsync(db,
                $"WITH v(\"Number\", \"Today\", \"DailyLimit\", \"Now\", \"LockUntil\") AS ({rows}) " +
                $"UPDATE {n} SET {n["NextSendAt"]} = v.\"LockUntil\", {n["SentTodayDate"]} = v.\"Today\", " +
                $"{n["SentToday"]} = CASE WHEN {S("SentTodayDate")} = v.\"Today\" THEN {S("SentToday")} + 1 ELSE 1 END " +
                $"FROM v WHERE {S("Id")} = v.\"Number\" AND ({S("NextSendAt")} IS NULL OR {S("NextSendAt")} <= v.\"Now\") " +
                // The number can send right now: the lane may have decided on a copy of it read a moment ago.
                $"AND {S("Enabled")} AND {S("State")} = 'Connected' AND ({S("PausedUntil")} IS NULL OR {S("PausedUntil")} <= v.\"Now\") " +
                $"AND ({S("SentTodayDate")} IS NULL OR {S("SentTodayDate")} <> v.\"Today\" OR {S("SentToday")} < v.\"DailyLimit\") " +
                $"RETURNING {n["Id"]} AS \"Value\"", ct);
        }
        for (var i = 0; i < steps.Count; i++)
        {
            var b = steps[i];
            results[positions[i]] = !first.Contains(b) ? (BeginResult.SlotBusy, b.SlotLockUntil)
                : !taken.Contains(b.MessageId) ? (BeginResult.Gone, null)
                : slotted.Contains(b.SessionId) ? (BeginResult.Started, null)
                : await GiveBackAsync(db, b, ct);
        }
    }

    /// <summary>The number could not send after all: the message goes back to how it was, and the caller learns why.</summary>
    private static async Task<(BeginResult, DateTime?)> GiveBackAsync(ZapHubDb db, Begin b, CancellationToken ct)
    {
        await db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(m => m.Id == b.MessageId)
            .ExecuteUpdateAsync(u => u
                .SetProperty(m => m.Status, b.Was)
                .SetProperty(m => m.Attempts, m => m.Attempts - 1)
                .SetProperty(m => m.Version, m => m.Version + 1), ct);
        var state = await db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking()
            .Where(s => s.Id == b.SessionId).Select(s => new { s.NextSendAt, s.Enabled, s.State, s.PausedUntil }).FirstOrDefaultAsync(ct);
        if (state is null) return (BeginResult.Gone, null);
        if (!state.Enabled || state.State != SessionState.Connected || state.PausedUntil > b.Now) return (BeginResult.Unavailable, null);
        return state.NextSendAt is { } next && next > b.Now ? (BeginResult.SlotBusy, next) : (BeginResult.LimitReached, null);
    }

    /// <summary>Sends that went out end in two statements for the whole group; failures, rare, one by one.</summary>
    private async Task EndAllAsync(ZapHubDb db, List<End> steps, CancellationToken ct)
    {
        var sent = steps.Where(e => e.Outcome.Sent).ToList();
        if (sent.Count > 0)
        {
            var messages = new Sql(db);
            var m = SqlNames.Of<Message>(db);
            string M(string column) => $"{m}.{m[column]}";
            var owner = messages.P(node.Id);
            var rows = messages.Rows(sent, e => e.MessageId, e => e.Outcome.ProviderMessageId!, e => e.At);
            await messages.ExecuteAsync(db,
                $"WITH v(\"Message\", \"ProviderId\", \"At\") AS ({rows}) " +
                $"UPDATE {m} SET {m["Status"]} = 'Sent', {m["ProviderMessageId"]} = v.\"ProviderId\", {m["SentAt"]} = v.\"At\", {m["UpdatedAt"]} = v.\"At\", " +
                $"{m["StatusReason"]} = NULL, {m["FailureCategory"]} = NULL, {m["HeldSince"]} = NULL, {m["LeaseOwner"]} = NULL, {m["LeaseUntil"]} = NULL, {m["Version"]} = {M("Version")} + 1 " +
                $"FROM v WHERE {M("Id")} = v.\"Message\" AND {M("LeaseOwner")} = {owner} AND {M("Status")} IN ('Sending', 'InDoubt')", ct);
            // The number's slot frees after its gap.
            var slots = new Sql(db);
            var n = SqlNames.Of<Session>(db);
            rows = slots.Rows(sent, e => e.SessionId, e => e.NextSendAt);
            await slots.ExecuteAsync(db,
                $"WITH v(\"Number\", \"Next\") AS ({rows}) UPDATE {n} SET {n["NextSendAt"]} = v.\"Next\" FROM v WHERE {n}.{n["Id"]} = v.\"Number\"", ct);
        }
        foreach (var e in steps)
        {
            if (!e.Outcome.Sent) await EndFailedAsync(db, e, ct);
            db.MessageEvents.Add(new MessageEvent
            {
                TenantId = e.TenantId, MessageId = e.MessageId, At = e.At, Attempt = e.Attempt, Detail = e.Detail, Node = node.Id,
                Status = e.Outcome.Status,
            });
        }
    }

    private async Task EndFailedAsync(ZapHubDb db, End e, CancellationToken ct)
    {
        var owner = node.Id;
        var o = e.Outcome;
        var status = o.Status;
        var failed = status == MessageStatus.Failed;
        await db.Messages.IgnoreQueryFilters([ZapHubDb.TenantFilter])
            .Where(m => m.Id == e.MessageId && m.LeaseOwner == owner && InFlight.Contains(m.Status))
            .ExecuteUpdateAsync(u => u
                .SetProperty(m => m.Status, status)
                .SetProperty(m => m.DueAt, m => o.RetryAt ?? m.DueAt)
                .SetProperty(m => m.FailedAt, m => failed ? e.At : m.FailedAt)
                // A held send was refused before it left (the number is down): it does not use up an attempt.
                .SetProperty(m => m.Attempts, m => o.Hold ? m.Attempts - 1 : m.Attempts)
                .SetProperty(m => m.HeldSince, m => o.Hold ? m.HeldSince ?? e.At : m.HeldSince)
                .SetProperty(m => m.StatusReason, o.StatusNote)
                .SetProperty(m => m.FailureCategory, o.Category)
                .SetProperty(m => m.LeaseOwner, (string?)null)
                .SetProperty(m => m.LeaseUntil, (DateTime?)null)
                .SetProperty(m => m.UpdatedAt, e.At)
                .SetProperty(m => m.Version, m => m.Version + 1), ct);

        // The slot frees after the gap; a send that did not happen does not count against the day.
        var pauseUntil = o.PauseUntil;
        var pauseReason = o.PauseUntil is null ? null : o.Category;
        await db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(s => s.Id == e.SessionId)
            .ExecuteUpdateAsync(u => u
                .SetProperty(s => s.NextSendAt, e.NextSendAt)
                .SetProperty(s => s.SentToday, s => s.SentTodayDate == e.Today && s.SentToday > 0 ? s.SentToday - 1 : s.SentToday)
                .SetProperty(s => s.PausedUntil, s => pauseUntil ?? s.PausedUntil)
                .SetProperty(s => s.PauseReason, s => pauseReason ?? s.PauseReason), ct);
    }

    /// <summary>
    /// A group's statement with its values as parameters. On PostgreSQL a list is one array parameter (= ANY, unnest), so a
    /// statement's text is the same whatever the group's size and is prepared once per connection instead of parsed and
    /// planned for every group; SQLite gets plain IN and VALUES lists.
    /// </summary>
    private sealed class Sql(ZapHubDb db)
    {
        private readonly bool postgres = db is PostgresZapHubDb;

        public List<object> Args { get; } = [];

        public string P(object value)
        {
            Args.Add(value);
            return "{" + (Args.Count - 1) + "}";
        }

        public string In<T>(IEnumerable<T> values) where T : notnull =>
            postgres ? $"= ANY ({P(values.ToArray())})" : $"IN ({string.Join(", ", values.Select(v => P(v)))})";

        /// <summary>The rows of a VALUES table, one column per selector.</summary>
        public string Rows<T>(IReadOnlyList<T> rows, params Func<T, object>[] columns)
        {
            if (!postgres) return "VALUES " + string.Join(", ", rows.Select(r => "(" + string.Join(", ", columns.Select(c => P(c(r)))) + ")"));
            return "SELECT * FROM unnest(" + string.Join(", ", columns.Select(c => P(Typed(rows.Select(c).ToList())))) + ")";
        }

        private static Array Typed(List<object> values)
        {
            var array = Array.CreateInstance(values[0].GetType(), values.Count);
            for (var i = 0; i < values.Count; i++) array.SetValue(values[i], i);
            return array;
        }

        public Task<int> ExecuteAsync(ZapHubDb db, string text, CancellationToken ct) => db.Database.ExecuteSqlRawAsync(text, Args, ct);

        public async Task<HashSet<Guid>> IdsAsync(ZapHubDb db, string text, CancellationToken ct) =>
            (await db.Database.SqlQueryRaw<Guid>(text, [.. Args]).ToListAsync(ct)).ToHashSet();
    }
}
