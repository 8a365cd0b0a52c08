using System.Text.RegularExpressions;

namespace ZapHub.Platform;

/// <summary>
/// What may be logged of a request: a gateway webhook's path carries its session's secret after the session id, and a
/// connect link's path is itself the capability (<c>/connect/zcl_…</c>).
/// </summary>
public static partial class LogSafe
{
    private const string Hooks = "/hooks/gateway/";

    /// <summary>The start of every connect link token.</summary>
    public const string LinkTokenPrefix = "zcl_";

    public static bool HasSecret(string text) =>
        text.Contains(Hooks, StringComparison.OrdinalIgnoreCase) || text.Contains(LinkTokenPrefix, StringComparison.Ordinal);

    /// <summary>/hooks/gateway/{session}/{secret}[/…] → /hooks/gateway/{session}/***[/…]; zcl_{token} → zcl_***.</summary>
    public static string Mask(string text) => LinkToken().Replace(HookSecret().Replace(text, "$1***"), LinkTokenPrefix + "***");

    [GeneratedRegex(@"(/hooks/gateway/[^/\s'""]+/)[^/\s'""?]+", RegexOptions.IgnoreCase)]
    private static partial Regex HookSecret();

    [GeneratedRegex(@"zcl_[A-Za-z0-9_-]+")]
    private static partial Regex LinkToken();
}
