namespace ZapHub.Platform.Telemetry;

public sealed class MetricsOptions
{
    public const string Section = "Metrics";

    /// <summary>Whether <c>/metrics</c> is served at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// A port on which <c>/metrics</c> is also served without a key, for a scraper on a private network (bind it to an
    /// interface only that network reaches). Unset: only the main port's <c>/metrics</c>, which needs a platform key
    /// with the <c>metrics:read</c> scope.
    /// </summary>
    public int? Port { get; set; }

    /// <summary>The database-wide gauges are read again at a scrape when older than this.</summary>
    public TimeSpan GaugeMaxAge { get; set; } = TimeSpan.FromSeconds(10);
}
