using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using ZapHub.Data;
using ZapHub.Features.Sessions;

namespace ZapHub.Features.GatewayWebhooks;

/// <summary>What became of a webhook handed to the inbox.</summary>
public enum InboxResult { Stored, Duplicate, SessionGone }

/// <summary>
/// Stores gateway webhooks durably before they are acknowledged. One writer commits them in groups, so a burst of
/// thousands of events costs a few transactions (SQLite has a single writer; per-request commits top out near
/// 1k/s). A caller's answer waits for the commit that holds its event.
/// </summary>
public sealed class GatewayInbox : BackgroundService
{
    private readonly IServiceScopeFactory scopes;
    private readonly SignalProcessor processor;
    private readonly WriteGate writeGate;
    private readonly ILogger<GatewayInbox> logger;
    private readonly GroupCommit<GatewayEvent, InboxResult> groups;
    private Writer? writer;

    public GatewayInbox(IServiceScopeFactory scopes, SignalProcessor processor, WriteGate writeGate, ILogger<GatewayInbox> logger)
    {
        (this.scopes, this.processor, this.writeGate, this.logger) = (scopes, processor, writeGate, logger);
        // Synchronous completions: completing a waiter runs the rest of its request (writing a tiny response into Kestrel's
        // buffer, which never blocks) on the writer, saving a thread-pool hop per event (+12% measured). A group is split
        // only for a row's own problem (a session deleted meanwhile); when the database is down every event gets the error.
        groups = new(1000, CommitAsync, logger, capacity: 20_000, synchronousCompletions: true, splitWhen: IsRowProblem);
    }

    /// <summary>Stored, a duplicate of an event already stored, or refused because its session was deleted meanwhile.</summary>
    // Not cancelled with the request once queued: the event is committed either way, and the commit is quick.
    public Task<InboxResult> StoreAsync(GatewayEvent e, CancellationToken ct) => groups.SubmitAsync(e, ct);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try { await groups.RunAsync(_ => processor.Wake(), stoppingToken); }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        finally { await ResetWriterAsync(); }
    }

    private async Task<InboxResult[]> CommitAsync(IReadOnlyList<GatewayEvent> batch, CancellationToken ct)
    {
        try
        {
            writer ??= await Writer.OpenAsync(scopes, writeGate, ct);
            var stored = await writer.InsertAsync(batch, ct);
            return [.. stored.Select(s => s ? InboxResult.Stored : InboxResult.Duplicate)];
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            await ResetWriterAsync();
            if (batch.Count == 1 && IsRowProblem(ex) && await SessionGoneAsync(batch[0].SessionId, ct)) return [InboxResult.SessionGone];
            // The gateway gets an error and keeps its event for a retry (Evolution retries; WPPConnect does not).
            if (!IsRowProblem(ex)) logger.LogError(ex, "Could not store {Count} gateway events", batch.Count);
            throw;
        }
    }

    private static bool IsRowProblem(Exception ex) => ex is DbException && !StorageFailure.Is(ex);

    /// <summary>Whether the session is known to be deleted; a database that cannot say counts as "not known".</summary>
    private async Task<bool> SessionGoneAsync(Guid sessionId, CancellationToken ct)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            return !await scope.ServiceProvider.GetRequiredService<ZapHubDb>().Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AnyAsync(s => s.Id == sessionId, ct);
        }
        catch (Exception ex) when (StorageFailure.Is(ex)) { return false; }
    }

    private async Task ResetWriterAsync()
    {
        if (writer is null) return;
        await writer.DisposeAsync();
        writer = null;
    }

    /// <summary>
    /// One open connection and one prepared INSERT … ON CONFLICT DO NOTHING, kept for the writer's life: the unique
    /// (session, dedupe key) index decides duplicates, so no lookup precedes the write. Parameters come from EF
    /// Core's own type mappings, so GUIDs and times are stored exactly as EF stores them on either provider.
    /// </summary>
    private sealed class Writer : IAsyncDisposable
    {
        private static readonly string[] Columns =
            [nameof(GatewayEvent.TenantId), nameof(GatewayEvent.SessionId), nameof(GatewayEvent.ReceivedAt), nameof(GatewayEvent.DedupeKey), nameof(GatewayEvent.Body),
             nameof(GatewayEvent.Partition)];

        private readonly AsyncServiceScope scope;
        private readonly WriteGate gate;
        private readonly ZapHubDb db;
        private readonly DbCommand command;
        private readonly DbParameter[] parameters;
        private readonly RelationalTypeMapping[] mappings;

        private Writer(AsyncServiceScope scope, WriteGate gate, ZapHubDb db, DbCommand command, DbParameter[] parameters, RelationalTypeMapping[] mappings) =>
            (this.scope, this.gate, this.db, this.command, this.parameters, this.mappings) = (scope, gate, db, command, parameters, mappings);

        public static async Task<Writer> OpenAsync(IServiceScopeFactory scopes, WriteGate gate, CancellationToken ct)
        {
            var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
            var types = db.GetService<IRelationalTypeMappingSource>();
            var entity = db.Model.FindEntityType(typeof(GatewayEvent))!;
            var events = SqlNames.Of<GatewayEvent>(db);

            await db.Database.OpenConnectionAsync(ct);
            var command = db.Database.GetDbConnection().CreateCommand();
            command.CommandText =
                $"INSERT INTO {events} ({string.Join(", ", Columns.Select(c => events[c]))}) " +
                $"VALUES ({string.Join(", ", Columns.Select((_, i) => "@p" + i))}) " +
                $"ON CONFLICT ({events[nameof(GatewayEvent.SessionId)]}, {events[nameof(GatewayEvent.DedupeKey)]}) DO NOTHING";
            var mappings = Columns.Select(c => types.FindMapping(entity.FindProperty(c)!)!).ToArray();
            object[] samples = [Guid.Empty, Guid.Empty, DateTime.UtcNow, "", "", (short)0];
            var parameters = Columns.Select((_, i) => mappings[i].CreateParameter(command, "@p" + i, samples[i])).ToArray();
            command.Parameters.AddRange(parameters);
            return new Writer(scope, gate, db, command, parameters, mappings);
        }

        public async Task<bool[]> InsertAsync(IReadOnlyList<GatewayEvent> batch, CancellationToken ct)
        {
            using var turn = await gate.EnterAsync(db, ct);
            await using var transaction = await db.Database.GetDbConnection().BeginTransactionAsync(ct);
            command.Transaction = transaction;
            var stored = new bool[batch.Count];
            for (var i = 0; i < batch.Count; i++)
            {
                var e = batch[i];
                Set(0, e.TenantId);
                Set(1, e.SessionId);
                Set(2, e.ReceivedAt);
                Set(3, e.DedupeKey);
                Set(4, e.Body);
                Set(5, e.Partition);
                stored[i] = await command.ExecuteNonQueryAsync(ct) == 1;
            }
            await transaction.CommitAsync(ct);
            return stored;
        }

        private void Set(int index, object value) => parameters[index].Value = mappings[index].Converter?.ConvertToProvider(value) ?? value;

        public async ValueTask DisposeAsync()
        {
            await command.DisposeAsync();
            await db.Database.CloseConnectionAsync();
            await scope.DisposeAsync();
        }
    }
}
