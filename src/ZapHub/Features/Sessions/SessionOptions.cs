using System.ComponentModel.DataAnnotations;

namespace ZapHub.Features.Sessions;

public sealed class SessionOptions
{
    public const string Section = "Sessions";

    /// <summary>A session still Starting after this is closed and marked Failed.</summary>
    public TimeSpan StartingTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>QR codes shown per connection attempt before ZapHub stops and offers "generate again".</summary>
    [Range(1, 100)] public int MaxQrCodes { get; set; } = 6;

    /// <summary>Circuit breaker: this many drops of a connected session within <see cref="FlapWindow"/> → Failed.</summary>
    [Range(2, 1000)] public int FlapLimit { get; set; } = 5;
    public TimeSpan FlapWindow { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How often the reconciler looks for drift.</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A connected session with no gateway event for this long is checked against the gateway.</summary>
    public TimeSpan SilenceThreshold { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The most numbers one pass looks at (oldest-checked first); the rest wait for the next pass. Most cost one statement
    /// between them (their gateway's list agreed), so this is large.
    /// </summary>
    [Range(100, 1_000_000)] public int ReconcileBatch { get; set; } = 20_000;

    /// <summary>Transitional states are re-read from the gateway at most this often.</summary>
    public TimeSpan TransitionalCheckInterval { get; set; } = TimeSpan.FromSeconds(20);
}
