using ZapHub.Data;

namespace ZapHub.Features.Messages;

/// <summary>
/// Accepted messages are committed in groups by one writer: a burst of API requests costs a few transactions instead
/// of one each (on SQLite every write transaction queues for the single writer lock, behind the dispatcher's and the
/// receipt processor's). A request still answers only after the commit that holds its message; one bad row (an
/// Idempotency-Key another request committed first) fails alone.
/// </summary>
public sealed class MessageIntake : BackgroundService
{
    private readonly IServiceScopeFactory scopes;
    private readonly WriteGate writeGate;
    private readonly MessageDispatcher dispatcher;
    private readonly Platform.Telemetry.ZapHubMetrics metrics;
    private readonly GroupCommit<(Message Message, MessageEvent Accepted), bool> groups;

    public MessageIntake(IServiceScopeFactory scopes, WriteGate writeGate, MessageDispatcher dispatcher, Platform.Telemetry.ZapHubMetrics metrics)
    {
        (this.scopes, this.writeGate, this.dispatcher, this.metrics) = (scopes, writeGate, dispatcher, metrics);
        groups = new(500, CommitAsync);
    }

    /// <summary>Returns once the message and its "accepted" timeline row are committed; throws what the commit threw.</summary>
    public Task StoreAsync(Message message, MessageEvent accepted) => groups.SubmitAsync((message, accepted));

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => groups.RunAsync(null, stoppingToken);

    private async Task<bool[]> CommitAsync(IReadOnlyList<(Message Message, MessageEvent Accepted)> batch, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        // Every message's tenant was set and checked by the request that accepted it.
        scope.ServiceProvider.GetRequiredService<TenantContext>().UseWorkerScope();
        var db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        foreach (var (message, accepted) in batch)
        {
            db.Messages.Add(message);
            db.MessageEvents.Add(accepted);
        }
        var reserved = dispatcher.Reserve(batch.Select(b => b.Message));
        try
        {
            using var turn = await writeGate.EnterAsync(db, ct);
            await db.SaveChangesAsync(ct);
        }
        catch
        {
            dispatcher.Unreserve(reserved);
            throw;
        }
        dispatcher.Adopt(reserved);
        metrics.MessagesAccepted(batch.Count);
        return new bool[batch.Count];
    }
}
