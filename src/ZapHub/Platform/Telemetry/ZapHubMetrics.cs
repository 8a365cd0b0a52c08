using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace ZapHub.Platform.Telemetry;

/// <summary>
/// ZapHub's own instruments, in one meter the exporter reads. What the code does is counted where it happens; what the
/// database holds (numbers by state, queue depths) is read by <see cref="StateGauges"/> when metrics are scraped.
/// Labels stay few and bounded: provider, operation, outcome, category, gateway name — never a tenant or a number.
/// </summary>
public sealed class ZapHubMetrics : IDisposable
{
    public const string MeterName = "ZapHub";

    private readonly Meter meter;
    private readonly Counter<long> gatewayCalls;
    private readonly Histogram<double> gatewayCallDuration;
    private readonly Counter<long> gatewayWebhooks;
    private readonly Counter<long> messagesAccepted;
    private readonly Counter<long> sendAttempts;
    private readonly Counter<long> statusChanges;
    private readonly Counter<long> webhookDeliveries;
    private readonly Histogram<double> webhookDeliveryDuration;
    private readonly UpDownCounter<long> streamClients;
    private readonly Histogram<double> reconcilerCycle;
    private readonly Counter<long> pruned;

    public ZapHubMetrics(IMeterFactory meters)
    {
        meter = meters.Create(MeterName);
        gatewayCalls = meter.CreateCounter<long>("zaphub.gateway.calls", "{call}", "Calls to gateway servers by provider, operation and outcome (ok or the failure category).");
        gatewayCallDuration = meter.CreateHistogram<double>("zaphub.gateway.call.duration", "s", "How long gateway calls took.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });
        gatewayWebhooks = meter.CreateCounter<long>("zaphub.gateway.webhooks", "{webhook}", "Webhooks from gateways: stored, duplicate (deduplicated), refused, rate_limited, failed (not stored).");
        messagesAccepted = meter.CreateCounter<long>("zaphub.messages.accepted", "{message}", "Messages accepted by the API into the outbox.");
        sendAttempts = meter.CreateCounter<long>("zaphub.messages.send_attempts", "{attempt}", "Send attempts by outcome (sent, retry, held, failed) and failure category.");
        statusChanges = meter.CreateCounter<long>("zaphub.messages.status_changes", "{message}", "Messages moved by gateway events: Delivered, Read, Failed (rejected by WhatsApp), Received.");
        webhookDeliveries = meter.CreateCounter<long>("zaphub.webhooks.deliveries", "{attempt}", "Attempts to deliver events to tenants' webhook endpoints by outcome.");
        webhookDeliveryDuration = meter.CreateHistogram<double>("zaphub.webhooks.delivery.duration", "s", "How long tenants' endpoints took to answer.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
        streamClients = meter.CreateUpDownCounter<long>("zaphub.events.stream_clients", "{client}", "Clients connected to the event stream (API) on this node.");
        reconcilerCycle = meter.CreateHistogram<double>("zaphub.reconciler.cycle.duration", "s", "How long one reconciliation pass took.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60] });
        pruned = meter.CreateCounter<long>("zaphub.retention.pruned", "{row}", "Rows removed by retention, by table.");
    }

    public Meter Meter => meter;

    public void GatewayCall(string provider, string operation, string outcome, TimeSpan took)
    {
        var tags = new TagList { { "provider", provider }, { "operation", operation }, { "outcome", outcome } };
        gatewayCalls.Add(1, tags);
        gatewayCallDuration.Record(took.TotalSeconds, tags);
    }

    public void GatewayWebhook(string provider, string outcome) =>
        gatewayWebhooks.Add(1, new KeyValuePair<string, object?>("provider", provider), new KeyValuePair<string, object?>("outcome", outcome));

    public void MessagesAccepted(int count) => messagesAccepted.Add(count);

    public void SendAttempt(string outcome, string? category) =>
        sendAttempts.Add(1, new KeyValuePair<string, object?>("outcome", outcome), new KeyValuePair<string, object?>("category", category ?? "none"));

    public void StatusChanged(string status, int count) => statusChanges.Add(count, new KeyValuePair<string, object?>("status", status));

    public void WebhookDelivery(string outcome, TimeSpan took)
    {
        var tag = new KeyValuePair<string, object?>("outcome", outcome);
        webhookDeliveries.Add(1, tag);
        webhookDeliveryDuration.Record(took.TotalSeconds, tag);
    }

    public void StreamClientJoined() => streamClients.Add(1);
    public void StreamClientLeft() => streamClients.Add(-1);

    public void ReconcilerCycle(TimeSpan took) => reconcilerCycle.Record(took.TotalSeconds);

    public void Pruned(string table, int rows) => pruned.Add(rows, new KeyValuePair<string, object?>("table", table));

    public void Dispose() => meter.Dispose();
}
