using System.Text.RegularExpressions;

namespace ZapHub.Platform;

/// <summary>What may be logged of a request: a gateway webhook's path carries its session's secret after the session id.</summary>
public static partial class LogSafe
{
    private const string Hooks = "/hooks/gateway/";

    public static bool HasSecret(string text) => text.Contains(Hooks, StringComparison.OrdinalIgnoreCase);

    /// <summary>/hooks/gateway/{session}/{secret}[/…] → /hooks/gateway/{session}/***[/…].</summary>
    public static string Mask(string text) => HookSecret().Replace(text, "$1***");

    [GeneratedRegex(@"(/hooks/gateway/[^/\s'""]+/)[^/\s'""?]+", RegexOptions.IgnoreCase)]
    private static partial Regex HookSecret();
}
