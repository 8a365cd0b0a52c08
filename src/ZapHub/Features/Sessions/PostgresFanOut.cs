using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Npgsql;
using ZapHub.Data;
using ZapHub.Features.Events;

namespace ZapHub.Features.Sessions;

/// <summary>
/// On PostgreSQL, session changes reach browsers connected to other nodes: each publish becomes a NOTIFY with ids
/// only, and every node LISTENs and feeds its local notifier, which re-reads through tenant-filtered queries
/// (docs/adr/0006-live-updates.md). A node ignores its own echo. It also hears the event relay's NOTIFY, so event
/// streams and webhook senders on every node read new events at once. On SQLite (one node) this does nothing.
/// </summary>
public sealed class PostgresFanOut(SessionNotifier notifier, EventRelay relay, IOptions<StorageOptions> storage, ILogger<PostgresFanOut> logger) : BackgroundService
{
    private const string ChannelName = "zaphub_sessions";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (storage.Value.Provider != StorageProvider.Postgres) return;
        await using var dataSource = NpgsqlDataSource.Create(DataExtensions.PostgresConnectionString(storage.Value.ResolveConnectionString()));
        Task? sending = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                connection.Notification += (_, e) =>
                {
                    if (e.Channel == EventRelay.NotifyChannel) relay.Heard(e.Payload);
                    else Receive(e.Payload);
                };
                await using (var listen = new NpgsqlCommand($"LISTEN {ChannelName}; LISTEN {EventRelay.NotifyChannel}", connection))
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                // Fanning out starts once this node listens too, so that "fans out" means both ways.
                sending ??= SendAsync(dataSource, notifier.EnableFanOut(), stoppingToken);
                while (!stoppingToken.IsCancellationRequested) await connection.WaitAsync(stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(ex, "Listening for session changes from other nodes failed; retrying");
                await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken);
            }
        }
        if (sending is not null) await sending;
    }

    private async Task SendAsync(NpgsqlDataSource dataSource, ChannelReader<(Guid Tenant, Guid Session)> outgoing, CancellationToken ct)
    {
        try
        {
            var payloads = new HashSet<string>();
            while (await outgoing.WaitToReadAsync(ct))
            {
                // Whatever queued up meanwhile goes in one round trip, each change once.
                payloads.Clear();
                while (payloads.Count < 1000 && outgoing.TryRead(out var change)) payloads.Add($"{notifier.NodeId}|{change.Tenant}|{change.Session}");
                try
                {
                    await using var notify = dataSource.CreateCommand("SELECT pg_notify(@channel, payload) FROM unnest(@payloads) AS payload");
                    notify.Parameters.AddWithValue("channel", ChannelName);
                    notify.Parameters.AddWithValue("payloads", payloads.ToArray());
                    await notify.ExecuteNonQueryAsync(ct);
                }
                catch (Exception ex) when (!ct.IsCancellationRequested)
                {
                    logger.LogWarning(ex, "Could not tell other nodes about {Count} session change(s)", payloads.Count);
                }
            }
        }
        catch (OperationCanceledException) { }
    }

    private void Receive(string payload)
    {
        var parts = payload.Split('|');
        if (parts.Length != 3 || !Guid.TryParse(parts[0], out var node) || node == notifier.NodeId) return;
        if (Guid.TryParse(parts[1], out var tenant) && Guid.TryParse(parts[2], out var session))
            notifier.DispatchLocal(tenant, session);
    }
}
