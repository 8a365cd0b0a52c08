using ZapHub.Features.GatewayWebhooks;
using ZapHub.Features.Sessions;
using ZapHub.Gateways;

namespace ZapHub.Features.Messages;

/// <summary>
/// The messages' part of a batch of gateway events: receipts move sent messages on, inbound messages are stored (with their
/// contact and opt-outs), receipts that raced their send are matched, and messages held for a number that came back go out.
/// </summary>
public sealed class MessageSignalHandler(PendingReceiptChecks pending, MessageDispatcher dispatcher, Platform.Telemetry.ZapHubMetrics metrics) : IGatewaySignalHandler
{
    private MessageSignals? messages;
    private bool sweep;

    public async Task PrepareAsync(SignalBatch batch, CancellationToken ct)
    {
        var toCheck = pending.Take(batch.Now, out sweep);
        if (toCheck is not { Count: 0 }) await MessageSignals.ApplyPendingAsync(batch.Db, batch.Now, toCheck, ct);
        batch.MustSave |= sweep;
        messages = new MessageSignals(batch.Db, batch.Now);
        if (batch.Signals.Count > 0) await messages.PrepareAsync(batch.Signals, ct);
    }

    public Task ApplyAsync(SignalBatch batch, Session session, GatewayEvent source, GatewaySignal signal, CancellationToken ct)
    {
        switch (signal)
        {
            case AckSignal ack:
                messages!.Apply(session, ack);
                break;
            case InboundSignal inbound:
                messages!.Apply(session, inbound);
                break;
        }
        return Task.CompletedTask;
    }

    public async Task SaveAsync(SignalBatch batch, CancellationToken ct)
    {
        if (sweep) await MessageSignals.DropStaleReceiptsAsync(batch.Db, batch.Now, ct);
        if (batch.Reconnected.Count > 0) await HeldMessages.ReleaseAsync(batch.Db, batch.Reconnected, batch.Now, ct);
    }

    public Task AfterCommitAsync(SignalBatch batch, CancellationToken ct)
    {
        if (batch.Reconnected.Count > 0) dispatcher.Wake();
        foreach (var (status, count) in messages?.Changes ?? []) metrics.StatusChanged(status.ToString(), count);
        return Task.CompletedTask;
    }
}
