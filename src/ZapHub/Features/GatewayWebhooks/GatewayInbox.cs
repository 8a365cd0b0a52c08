using System.Data.Common;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
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
public sealed class GatewayInbox(IServiceScopeFactory scopes, SignalProcessor processor, WriteGate writeGate, ILogger<GatewayInbox> logger) : BackgroundService
{
    private const int MaxBatch = 1000;

    private sealed record Item(GatewayEvent Event, TaskCompletionSource<InboxResult> Stored);
    private readonly Channel<Item> queue = Channel.CreateBounded<Item>(new BoundedChannelOptions(20_000) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private Writer? writer;

    /// <summary>Stored, a duplicate of an event already stored, or refused because its session was deleted meanwhile.</summary>
    public async Task<InboxResult> StoreAsync(GatewayEvent e, CancellationToken ct)
    {
        // Synchronous continuations: completing a waiter runs the rest of its request (writing a tiny response into
        // Kestrel's buffer, which never blocks) on the writer, saving a thread-pool hop per event (+12% measured).
        var item = new Item(e, new TaskCompletionSource<InboxResult>(TaskCreationOptions.None));
        if (!queue.Writer.TryWrite(item)) await queue.Writer.WriteAsync(item, ct);
        // Not cancelled with the request: once queued, the event is committed either way, and the commit is quick.
        return await item.Stored.Task;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Item>(MaxBatch);
        try
        {
            while (await queue.Reader.WaitToReadAsync(stoppingToken))
            {
                // No waiting for a batch to fill: events that arrive during a commit make the next batch anyway, and a wait
                // held every caller of a small batch idle (measured: a 1 ms linger cost a fifth of the throughput).
                batch.Clear();
                Drain(batch);
                try
                {
                    writer ??= await Writer.OpenAsync(scopes, writeGate, stoppingToken);
                    var stored = await writer.InsertAsync(batch, stoppingToken);
                    for (var i = 0; i < batch.Count; i++) batch[i].Stored.TrySetResult(stored[i] ? InboxResult.Stored : InboxResult.Duplicate);
                    processor.Wake();
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    await ResetWriterAsync();
                    if (ex is DbException && !StorageFailure.Is(ex))
                    {
                        // Most likely a session deleted meanwhile (foreign key): one by one, so the others still go in and
                        // that one is told apart from a database that is down.
                        await WriteOneByOneAsync(batch, stoppingToken);
                        processor.Wake();
                        continue;
                    }
                    // The gateway gets an error and keeps its event for a retry (Evolution retries; WPPConnect does not).
                    logger.LogError(ex, "Could not store {Count} gateway events", batch.Count);
                    foreach (var item in batch) item.Stored.TrySetException(ex);
                }
            }
        }
        finally
        {
            await ResetWriterAsync();
        }
    }

    private void Drain(List<Item> batch)
    {
        while (batch.Count < MaxBatch && queue.Reader.TryRead(out var item)) batch.Add(item);
    }

    private async Task WriteOneByOneAsync(List<Item> batch, CancellationToken ct)
    {
        foreach (var item in batch)
        {
            try
            {
                writer ??= await Writer.OpenAsync(scopes, writeGate, ct);
                item.Stored.TrySetResult((await writer.InsertAsync([item], ct))[0] ? InboxResult.Stored : InboxResult.Duplicate);
            }
            catch (Exception ex) when (!ct.IsCancellationRequested)
            {
                await ResetWriterAsync();
                try
                {
                    if (ex is DbException && !StorageFailure.Is(ex) && !await SessionExistsAsync(item.Event.SessionId, ct)) item.Stored.TrySetResult(InboxResult.SessionGone);
                    else item.Stored.TrySetException(ex);
                }
                catch (Exception lookup) when (StorageFailure.Is(lookup))
                {
                    item.Stored.TrySetException(ex);
                }
            }
        }
    }

    private async Task<bool> SessionExistsAsync(Guid sessionId, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<ZapHubDb>().Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AnyAsync(s => s.Id == sessionId, ct);
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
            [nameof(GatewayEvent.TenantId), nameof(GatewayEvent.SessionId), nameof(GatewayEvent.ReceivedAt), nameof(GatewayEvent.DedupeKey), nameof(GatewayEvent.Body)];

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
            var sql = db.GetService<ISqlGenerationHelper>();
            var types = db.GetService<IRelationalTypeMappingSource>();
            var entity = db.Model.FindEntityType(typeof(GatewayEvent))!;
            var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
            string Column(string property) => sql.DelimitIdentifier(entity.FindProperty(property)!.GetColumnName(table)!);

            await db.Database.OpenConnectionAsync(ct);
            var command = db.Database.GetDbConnection().CreateCommand();
            command.CommandText =
                $"INSERT INTO {sql.DelimitIdentifier(table.Name, table.Schema)} ({string.Join(", ", Columns.Select(Column))}) " +
                $"VALUES ({string.Join(", ", Columns.Select((_, i) => "@p" + i))}) " +
                $"ON CONFLICT ({Column(nameof(GatewayEvent.SessionId))}, {Column(nameof(GatewayEvent.DedupeKey))}) DO NOTHING";
            var mappings = Columns.Select(c => types.FindMapping(entity.FindProperty(c)!)!).ToArray();
            object[] samples = [Guid.Empty, Guid.Empty, DateTime.UtcNow, "", ""];
            var parameters = Columns.Select((_, i) => mappings[i].CreateParameter(command, "@p" + i, samples[i])).ToArray();
            command.Parameters.AddRange(parameters);
            return new Writer(scope, gate, db, command, parameters, mappings);
        }

        public async Task<bool[]> InsertAsync(IReadOnlyList<Item> batch, CancellationToken ct)
        {
            using var turn = await gate.EnterAsync(db, ct);
            await using var transaction = await db.Database.GetDbConnection().BeginTransactionAsync(ct);
            command.Transaction = transaction;
            var stored = new bool[batch.Count];
            for (var i = 0; i < batch.Count; i++)
            {
                var e = batch[i].Event;
                Set(0, e.TenantId);
                Set(1, e.SessionId);
                Set(2, e.ReceivedAt);
                Set(3, e.DedupeKey);
                Set(4, e.Body);
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
