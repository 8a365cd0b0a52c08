using System.ComponentModel.DataAnnotations;

namespace ZapHub.Features.Events;

public sealed class EventOptions
{
    public const string Section = "Events";

    /// <summary>A comment line sent on an idle stream, so proxies keep it open and clients notice a dead one.</summary>
    public TimeSpan StreamHeartbeat { get; set; } = TimeSpan.FromSeconds(15);
}

public sealed class WebhookOptions
{
    public const string Section = "Webhooks";

    /// <summary>
    /// Lets tenants' endpoints be on loopback and private networks: for self-hosted installs whose systems live on the
    /// same network. Cloud metadata addresses stay refused either way.
    /// </summary>
    public bool AllowPrivateTargets { get; set; }

    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The wait before each retry; the first attempt is at once. With ±<see cref="Jitter"/> at random.</summary>
    public TimeSpan[] RetrySchedule { get; set; } =
    [
        TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2),
        TimeSpan.FromHours(5), TimeSpan.FromHours(10), TimeSpan.FromHours(10),
    ];

    [Range(0, 0.5)] public double Jitter { get; set; } = 0.2;

    /// <summary>An endpoint that has failed without a single success for this long is disabled.</summary>
    public TimeSpan DisableAfter { get; set; } = TimeSpan.FromDays(5);

    /// <summary>After a rotation the previous secret keeps signing for this long, so receivers can switch without a gap.</summary>
    public TimeSpan SecretOverlap { get; set; } = TimeSpan.FromHours(24);

    [Range(1, 10_000)] public int MaxConcurrent { get; set; } = 256;
    [Range(1, 1_000)] public int MaxConcurrentPerEndpoint { get; set; } = 32;

    /// <summary>How often due retries are looked for when nothing woke the sender.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);
}
