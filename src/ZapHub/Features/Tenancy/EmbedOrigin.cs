namespace ZapHub.Features.Tenancy;

/// <summary>A web origin a tenant allows to frame its connect page: scheme, host and port, https (http only on loopback).</summary>
public static class EmbedOrigin
{
    /// <summary>The origin a text names ("https://app.example.com"), lower-cased; null if it is not one (a path, a query, credentials, plain http).</summary>
    public static string? Parse(string? text)
    {
        if (!Uri.TryCreate(text?.Trim(), UriKind.Absolute, out var uri)) return null;
        if (uri.AbsolutePath != "/" || uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0) return null;
        var secure = uri.Scheme == Uri.UriSchemeHttps || (uri.Scheme == Uri.UriSchemeHttp && uri.IsLoopback);
        return secure ? uri.GetLeftPart(UriPartial.Authority).ToLowerInvariant() : null;
    }
}
