using ZapHub.Data;
using ZapHub.Features.Gateways;
using ZapHub.Features.Sessions;
using ZapHub.Gateways;

namespace ZapHub.Features.GatewayWebhooks;

/// <summary>One batch of stored gateway events on its way through the handlers: its context, its numbers, its signals.</summary>
public sealed class SignalBatch(ZapHubDb db, DateTime now)
{
    public ZapHubDb Db => db;
    public DateTime Now => now;

    /// <summary>The numbers the batch's events are about, tracked in <see cref="Db"/>.</summary>
    public IReadOnlyDictionary<Guid, Session> Sessions { get; init; } = new Dictionary<Guid, Session>();
    public IReadOnlyDictionary<Guid, Gateway> Gateways { get; init; } = new Dictionary<Guid, Gateway>();

    /// <summary>Every signal of the batch, in arrival order.</summary>
    public IReadOnlyList<(Session Session, GatewaySignal Signal)> Signals { get; init; } = [];

    /// <summary>Numbers that became Connected in this batch.</summary>
    public HashSet<Guid> Reconnected { get; } = [];

    /// <summary>Set by a handler that has set-based writes to do in <see cref="IGatewaySignalHandler.SaveAsync"/> even when no event came.</summary>
    public bool MustSave { get; set; }
}
