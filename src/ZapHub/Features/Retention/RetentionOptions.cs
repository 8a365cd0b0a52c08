using System.ComponentModel.DataAnnotations;

namespace ZapHub.Features.Retention;

/// <summary>How long each kind of row that grows with traffic is kept. Everything older is removed in small batches.</summary>
public sealed class RetentionOptions
{
    public const string Section = "Retention";

    /// <summary>Finished messages (sent, delivered, read, failed, canceled) and received ones — the contacts' conversations — with their timelines. Waiting ones are never removed.</summary>
    public TimeSpan Messages { get; set; } = TimeSpan.FromDays(180);

    /// <summary>Each number's state timeline. The health charts read up to 90 days of it.</summary>
    public TimeSpan SessionEvents { get; set; } = TimeSpan.FromDays(180);

    public TimeSpan Audit { get; set; } = TimeSpan.FromDays(365);

    /// <summary>Processed gateway webhooks, kept for diagnosis (unprocessed ones stay until processed).</summary>
    public TimeSpan GatewayEvents { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Events out: the stream resumes, replays and delivery logs reach this far back. Their deliveries go with them.</summary>
    public TimeSpan Events { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Finished deliveries to tenants' endpoints (succeeded or given up) and their attempts.</summary>
    public TimeSpan Deliveries { get; set; } = TimeSpan.FromDays(14);

    /// <summary>How often the sweep runs.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Rows removed per statement: each batch is its own short transaction, so writers wait for milliseconds at most.</summary>
    [Range(1, 50_000)] public int BatchSize { get; set; } = 1000;
}
