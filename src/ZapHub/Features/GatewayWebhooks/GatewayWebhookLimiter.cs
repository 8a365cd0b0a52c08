using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using ZapHub.Platform;

namespace ZapHub.Features.GatewayWebhooks;

/// <summary>
/// Per session and sender address: somebody hammering one session's URL cannot use up the budget of its real gateway,
/// and a QR storm or an inbound burst from a real gateway stays well below the limit.
/// </summary>
public sealed class GatewayWebhookLimiter(IOptions<RateLimitOptions> options) : IDisposable
{
    private readonly PartitionedRateLimiter<(Guid, IPAddress?)> limiter = PartitionedRateLimiter.Create<(Guid, IPAddress?), (Guid, IPAddress?)>(key =>
        RateLimitPartition.GetTokenBucketLimiter(key, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = options.Value.GatewayWebhooksPerSecond,
            TokensPerPeriod = options.Value.GatewayWebhooksPerSecond,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
        }));

    public RateLimitLease Acquire(Guid sessionId, IPAddress? sender) => limiter.AttemptAcquire((sessionId, sender));

    public void Dispose() => limiter.Dispose();
}
