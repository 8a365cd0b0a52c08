using ZapHub.Features.Sessions;
using ZapHub.Gateways;

namespace ZapHub.Features.GatewayWebhooks;

/// <summary>
/// A feature's part in applying stored gateway webhooks: the processor reads a batch of events, parses them with their
/// provider into normalized signals and hands every signal, in arrival order, to each handler (Sessions: states, QR codes,
/// health; Messages: receipts, inbound messages). One instance per batch, resolved from the batch's scope.
/// </summary>
public interface IGatewaySignalHandler
{
    /// <summary>Before any signal: load what the batch's signals need in a few queries, do work due on this beat.</summary>
    Task PrepareAsync(SignalBatch batch, CancellationToken ct);

    /// <summary>One signal of one event of one number. Changes go to the batch's context; nothing is saved here.</summary>
    Task ApplyAsync(SignalBatch batch, Session session, GatewayEvent source, GatewaySignal signal, CancellationToken ct);

    /// <summary>Inside the batch's write transaction, after the context's changes were saved: set-based writes.</summary>
    Task SaveAsync(SignalBatch batch, CancellationToken ct);

    /// <summary>After the commit: notify, wake, call gateways.</summary>
    Task AfterCommitAsync(SignalBatch batch, CancellationToken ct);
}
