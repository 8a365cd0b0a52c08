using System.Text.Json;
using ZapHub.Gateways;
using ZapHub.Platform;

namespace ZapHub.Features.Sessions;

/// <summary>What a platform keeps on a number: its own reference, free-form metadata, and the number's proxy.</summary>
public static class SessionReference
{
    public const int MaxReference = 200, MaxMetadata = 4096;

    /// <summary>A reference as stored: trimmed, "" clears it; null leaves it as it is.</summary>
    public static string? Reference(string? value)
    {
        if (value is null) return null;
        value = value.Trim();
        if (value.Length > MaxReference || value.Any(char.IsControl))
            throw ProblemException.Invalid("reference", "session_reference", $"The reference is text of at most {MaxReference} characters, without control characters.");
        return value;
    }

    /// <summary>Metadata as stored: a JSON object of at most 4 KB; JSON null clears it ("").</summary>
    public static string? Metadata(JsonElement? value)
    {
        if (value is not { } element) return null;
        if (element.ValueKind == JsonValueKind.Null) return "";
        if (element.ValueKind != JsonValueKind.Object)
            throw ProblemException.Invalid("metadata", "session_metadata", "The metadata is a JSON object, e.g. {\"plan\":\"gold\"}.");
        var text = element.GetRawText();
        if (text.Length > MaxMetadata)
            throw ProblemException.Invalid("metadata", "session_metadata_size", $"The metadata may have at most {MaxMetadata} characters of JSON.");
        return text;
    }

    /// <summary>The stored metadata as JSON, for views and events.</summary>
    public static JsonElement? MetadataOf(string? stored) =>
        string.IsNullOrEmpty(stored) ? null : JsonDocument.Parse(stored).RootElement.Clone();

    /// <summary>A proxy as given ("http://user:pass@host:port", https or socks5): null if there is none, a refusal if it is not one.</summary>
    public static GatewayProxy? Proxy(string? value)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        if (value.Length > 500 || !Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https" or "socks5")
            || uri.Host.Length == 0 || uri.IsDefaultPort && uri.Scheme == "socks5" || uri.AbsolutePath != "/")
            throw ProblemException.Invalid("proxy", "session_proxy", "The proxy is written scheme://[user:password@]host:port, with http, https or socks5.");
        var credentials = uri.UserInfo.Split(':', 2);
        return new GatewayProxy(uri.Scheme, uri.Host, uri.Port,
            credentials[0].Length > 0 ? Uri.UnescapeDataString(credentials[0]) : null, credentials.Length > 1 ? Uri.UnescapeDataString(credentials[1]) : null);
    }
}
