namespace ZapHub.Platform;

/// <summary>
/// The API accepts a signed-in person's cookie as well as API keys. A cookie rides along on any request the browser
/// makes, so an unsafe API call carried by a cookie must come from ZapHub's own pages: a browser names where a
/// request comes from (Sec-Fetch-Site, Origin) and a page elsewhere cannot forge either. Calls with an API key carry
/// no ambient credential and are not checked; requests without either header are not a browser's.
/// </summary>
public static class SameOriginGuard
{
    public const string Code = "cross_origin_request";

    public static IApplicationBuilder UseSameOriginGuard(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            var request = context.Request;
            if (!request.Path.StartsWithSegments("/api") || IsSafe(request.Method) || HasApiKey(request) || IsSameOrigin(request))
            {
                await next(context);
                return;
            }
            await ProblemResponses.WriteAsync(context, StatusCodes.Status403Forbidden, "Cross-origin request refused.",
                "A signed-in browser may change things through the API only from ZapHub's own pages; other systems use an API key.", Code);
        });

    private static bool IsSafe(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsTrace(method);

    private static bool HasApiKey(HttpRequest request) =>
        request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase);

    private static bool IsSameOrigin(HttpRequest request)
    {
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        if (site.Length > 0) return site is "same-origin" or "none";
        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0) return true;
        // Compared by host and port only: behind a TLS-terminating proxy the scheme ZapHub sees differs from the browser's.
        return Uri.TryCreate(origin, UriKind.Absolute, out var uri)
               && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase);
    }
}
