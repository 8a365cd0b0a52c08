using Microsoft.AspNetCore.Http.HttpResults;
using ZapHub.Features.Tenancy;
using ZapHub.Platform;

namespace ZapHub.Features.ConnectLinks;

public static class ConnectLinkEndpoints
{
    /// <summary>The language of the link a page request opens, for the page's circuit (HttpContext.Items).</summary>
    public const string LocaleItem = "zaphub.connect-link.locale";

    public static IServiceCollection AddConnectLinks(this IServiceCollection services)
    {
        services.AddOptions<ConnectLinkOptions>().BindConfiguration(ConnectLinkOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddScoped<ConnectLinkService>();
        return services;
    }

    public static IEndpointRouteBuilder MapConnectLinks(this IEndpointRouteBuilder app)
    {
        var links = app.MapGroup("/api/v1/sessions/{sessionId:guid}/connect-links").WithTags("Connect links").RequireRateLimiting(RateLimits.Api);
        links.MapPost("/", async Task<Created<ConnectLinkView>> (Guid sessionId, CreateConnectLinkRequest? body, ConnectLinkService svc, HttpContext http, CancellationToken ct) =>
        {
            var requestBase = new Uri($"{http.Request.Scheme}://{http.Request.Host}{http.Request.PathBase}");
            var created = await svc.CreateAsync(Actor.From(http.User, TenancyEndpoints.Ip(http)), sessionId, body ?? new CreateConnectLinkRequest(), requestBase, ct);
            return TypedResults.Created($"/api/v1/sessions/{sessionId}/connect-links/{created.Id}", created);
        }).RequireTenant(ApiScopes.SessionsControl, TenantRole.Admin).WithName("CreateConnectLink")
            .WithSummary("A short-lived page, for someone without a ZapHub account, to connect this number by QR or pairing code and see it connected; " +
                "it can be framed by the tenant's embedOrigins (see /embed/v1/connect.js). The url is shown in this response only.");
        links.MapGet("/", (Guid sessionId, ConnectLinkService svc, CancellationToken ct) => svc.ListAsync(sessionId, ct))
            .RequireTenant(ApiScopes.SessionsRead).WithName("ListConnectLinks").WithSummary("The number's links, newest first (without their addresses).");
        links.MapDelete("/{linkId:guid}", async (Guid sessionId, Guid linkId, ConnectLinkService svc, HttpContext http, CancellationToken ct) =>
        {
            await svc.RevokeAsync(Actor.From(http.User, TenancyEndpoints.Ip(http)), sessionId, linkId, ct);
            return TypedResults.NoContent();
        }).RequireTenant(ApiScopes.SessionsControl, TenantRole.Admin).WithName("RevokeConnectLink").WithSummary("The link stops working at once, even on a page already open.");
        return app;
    }

    /// <summary>
    /// A link's page may be framed only by the origins its tenant (or the platform) allowed; a browser refuses it
    /// anywhere else. Set here, before the platform's default of no framing at all.
    /// </summary>
    public static IApplicationBuilder UseConnectLinkFraming(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            if (HttpMethods.IsGet(context.Request.Method) && context.Request.Path.StartsWithSegments("/connect", out var rest)
                && rest.Value?.TrimStart('/') is { Length: > 0 } token && !token.Contains('/'))
            {
                var opened = await context.RequestServices.GetRequiredService<ConnectLinkService>().FindAsync(token, context.RequestAborted);
                var origins = opened?.AllowedOrigins ?? [];
                context.Items[LocaleItem] = opened?.Link.Locale ?? Localization.Default;
                context.Response.Headers.ContentSecurityPolicy = "frame-ancestors " + (origins.Count > 0 ? string.Join(' ', origins) : "'none'");
                // The page's address is the capability: never sent on to the logo's host or anywhere else.
                context.Response.Headers["Referrer-Policy"] = "no-referrer";
            }
            await next(context);
        });
}
