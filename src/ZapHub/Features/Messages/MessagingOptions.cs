using System.ComponentModel.DataAnnotations;

namespace ZapHub.Features.Messages;

public sealed class MessagingOptions
{
    public const string Section = "Messages";

    /// <summary>How long a node holds a message it took; renewed while it lives, so a dead node's messages return after this.</summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the dispatcher looks for due messages when nothing woke it.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    [Range(1, 100_000)] public int MaxLeasedPerNode { get; set; } = 2000;
    [Range(1, 10_000)] public int MaxLeasedPerSession { get; set; } = 100;

    /// <summary>The first retry's delay, doubled per attempt (with ±20% jitter) up to <see cref="RetryMaxDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(10);
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>How often a message held for a disconnected number looks again (a reconnect also wakes it at once).</summary>
    public TimeSpan HoldRecheck { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A number the gateway rate-limited rests this long.</summary>
    public TimeSpan RateLimitPause { get; set; } = TimeSpan.FromMinutes(15);
}
