using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Options;
using ZapHub.Features.Tenancy;
using ZapHub.Platform;

namespace ZapHub.Features.Events;

public static class EventEndpoints
{
    public static IServiceCollection AddEvents(this IServiceCollection services)
    {
        services.AddOptions<EventOptions>().BindConfiguration(EventOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<EventRelay>();
        services.AddHostedService(sp => sp.GetRequiredService<EventRelay>());
        services.AddSingleton<EventCapture>();
        services.AddSingleton<IInterceptor>(sp => sp.GetRequiredService<EventCapture>());
        services.AddSingleton<HostResolver>();
        services.AddSingleton<WebhookTargets>();
        services.AddSingleton<WebhookSecrets>();
        services.AddSingleton<WebhookSender>();
        services.AddHostedService(sp => sp.GetRequiredService<WebhookSender>());
        services.AddScoped<WebhookService>();
        services.AddScoped<EventStream>();
        // No resilience handler: the outbox owns retries. No redirects: a 3xx is a failed attempt, never a new target.
        services.AddHttpClient(WebhookSender.HttpClientName, (sp, client) =>
            {
                client.Timeout = sp.GetRequiredService<IOptions<WebhookOptions>>().Value.Timeout;
                client.DefaultRequestHeaders.UserAgent.ParseAdd("ZapHub-Webhooks/1.0");
            })
            .ConfigurePrimaryHttpMessageHandler(sp => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                UseCookies = false,
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
                ConnectCallback = sp.GetRequiredService<WebhookTargets>().ConnectAsync,
            });
        return services;
    }

    public static IEndpointRouteBuilder MapEvents(this IEndpointRouteBuilder app)
    {
        const string manage = ApiScopes.WebhooksManage;
        var events = app.MapGroup("/api/v1/events").WithTags("Events");
        events.MapGet("/types", () => EventTypes.All).RequireTenant(ApiScopes.EventsRead).WithName("ListEventTypes")
            .WithSummary("The event catalogue (see docs/events.md for payloads).");
        events.MapGet("/", (EventStream stream, string? after, string? types, int? limit, CancellationToken ct) =>
                stream.PageAsync(after, EventStream.ParseTypes(types), limit ?? 100, ct))
            .RequireTenant(ApiScopes.EventsRead).RequireRateLimiting(RateLimits.Api).WithName("ListEvents")
            .WithSummary("Events in commit order after the id given (from the oldest kept without one); ?types=a,b filters.");
        events.MapGet("/stream", async (HttpContext http, EventStream stream, IHostApplicationLifetime lifetime, string? types, string? lastEventId, CancellationToken ct) =>
            {
                var resumeFrom = http.Request.Headers["Last-Event-ID"].FirstOrDefault() ?? lastEventId;
                // Ends when the client leaves or the app stops: an open stream must not hold up a shutdown.
                using var open = CancellationTokenSource.CreateLinkedTokenSource(ct, lifetime.ApplicationStopping);
                await stream.StreamAsync(http, resumeFrom, EventStream.ParseTypes(types), open.Token);
            })
            .RequireTenant(ApiScopes.EventsRead).RequireRateLimiting(RateLimits.Api).WithName("StreamEvents")
            .WithSummary("Server-Sent Events: live events of the key's tenant; send Last-Event-ID to resume without losing any; ?types=a,b filters.");

        var hooks = app.MapGroup("/api/v1/webhooks").WithTags("Webhooks").RequireRateLimiting(RateLimits.Api);
        hooks.MapGet("/", (WebhookService svc, CancellationToken ct) => svc.ListAsync(ct)).RequireTenant(manage).WithName("ListWebhooks");
        hooks.MapPost("/", async Task<Created<WebhookWithSecret>> (SaveWebhookRequest body, WebhookService svc, HttpContext http, CancellationToken ct) =>
        {
            var created = await svc.CreateAsync(Actor(http), body, ct);
            return TypedResults.Created($"/api/v1/webhooks/{created.Endpoint.Id}", created);
        }).RequireTenant(manage, TenantRole.Admin).WithName("CreateWebhook")
          .WithSummary("Adds an endpoint; the answer carries its whsec_ signing secret, shown this once.");
        hooks.MapGet("/{webhookId:guid}", (Guid webhookId, WebhookService svc, CancellationToken ct) => svc.GetAsync(webhookId, ct))
            .RequireTenant(manage).WithName("GetWebhook");
        hooks.MapPut("/{webhookId:guid}", (Guid webhookId, SaveWebhookRequest body, WebhookService svc, HttpContext http, CancellationToken ct) =>
            svc.UpdateAsync(Actor(http), webhookId, body, ct)).RequireTenant(manage, TenantRole.Admin).WithName("UpdateWebhook")
            .WithSummary("Changes the URL, description, event types, or switches it on and off (on again clears an automatic disable).");
        hooks.MapDelete("/{webhookId:guid}", async (Guid webhookId, WebhookService svc, HttpContext http, CancellationToken ct) =>
        {
            await svc.DeleteAsync(Actor(http), webhookId, ct);
            return TypedResults.NoContent();
        }).RequireTenant(manage, TenantRole.Admin).WithName("DeleteWebhook");
        hooks.MapPost("/{webhookId:guid}/rotate-secret", (Guid webhookId, WebhookService svc, HttpContext http, CancellationToken ct) =>
            svc.RotateSecretAsync(Actor(http), webhookId, ct)).RequireTenant(manage, TenantRole.Admin).WithName("RotateWebhookSecret")
            .WithSummary("A new secret, shown once; the old one keeps signing alongside it for the overlap (24 h by default).");
        hooks.MapPost("/{webhookId:guid}/test", async (Guid webhookId, WebhookService svc, HttpContext http, CancellationToken ct) =>
            TypedResults.Accepted((string?)null, new { eventId = await svc.SendTestAsync(Actor(http), webhookId, ct) }))
            .RequireTenant(manage, TenantRole.Admin).WithName("TestWebhook").WithSummary("Sends a webhook.test event to this endpoint only.");
        hooks.MapGet("/{webhookId:guid}/deliveries", (Guid webhookId, WebhookService svc, DeliveryStatus? status, long? before, int? limit, CancellationToken ct) =>
            svc.DeliveriesAsync(webhookId, status, before, limit ?? 50, ct)).RequireTenant(manage).WithName("ListWebhookDeliveries")
            .WithSummary("The delivery log, newest first; page with ?before=<id>.");
        hooks.MapGet("/{webhookId:guid}/deliveries/{deliveryId:long}", (Guid webhookId, long deliveryId, WebhookService svc, CancellationToken ct) =>
            svc.DeliveryAsync(webhookId, deliveryId, ct)).RequireTenant(manage).WithName("GetWebhookDelivery")
            .WithSummary("One delivery: the payload and every attempt (time, status, latency, start of the response).");
        hooks.MapPost("/{webhookId:guid}/deliveries/{deliveryId:long}/redeliver", async (Guid webhookId, long deliveryId, WebhookService svc, HttpContext http, CancellationToken ct) =>
            TypedResults.Accepted((string?)null, await svc.RedeliverAsync(Actor(http), webhookId, deliveryId, ct)))
            .RequireTenant(manage, TenantRole.Admin).WithName("RedeliverWebhook").WithSummary("Sends that event again (same webhook-id).");
        hooks.MapPost("/{webhookId:guid}/replay", async (Guid webhookId, ReplayRequest body, WebhookService svc, HttpContext http, CancellationToken ct) =>
            TypedResults.Accepted((string?)null, await svc.ReplayAsync(Actor(http), webhookId, body, ct)))
            .RequireTenant(manage, TenantRole.Admin).WithName("ReplayWebhook").WithSummary("Queues again every event since a time that the endpoint wants.");
        return app;
    }

    private static Actor Actor(HttpContext http) => Tenancy.Actor.From(http.User, TenancyEndpoints.Ip(http));
}
