using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using ZapHub.Features.GatewayWebhooks;
using ZapHub.Features.Tenancy;
using ZapHub.Gateways;
using ZapHub.Platform;

namespace ZapHub.Features.Sessions;

/// <param name="Reference">The platform's own id for the number (up to 200 characters), echoed in its events.</param>
/// <param name="Metadata">A JSON object (up to 4 KB) kept with the number and echoed in its events.</param>
/// <param name="Proxy">scheme://[user:password@]host:port (http, https or socks5) the number's WhatsApp traffic goes through; encrypted, never shown back.</param>
public sealed record CreateSessionRequest([property: Required, StringLength(100, MinimumLength = 1)] string DisplayName, Guid? GatewayId = null, GatewayKind? Kind = null,
    string? Reference = null, System.Text.Json.JsonElement? Metadata = null, string? Proxy = null);

/// <summary>mode "qr" (default) or "pairing", which needs the phone that will link.</summary>
public sealed record ConnectRequest(string? Mode = null, string? Phone = null);

/// <param name="Reference">"" clears it.</param>
/// <param name="Metadata">null (JSON) clears it.</param>
/// <param name="Proxy">"" removes it; a new proxy is used from the number's next start.</param>
public sealed record UpdateSessionRequest(string? DisplayName = null, int? DailyLimit = null, bool ClearDailyLimit = false,
    string? Reference = null, System.Text.Json.JsonElement? Metadata = null, string? Proxy = null);

public sealed record TestMessageRequest([property: Required] string To, string? Text = null);

public static class SessionEndpoints
{
    public static IServiceCollection AddSessions(this IServiceCollection services)
    {
        services.AddOptions<SessionOptions>().BindConfiguration(SessionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddGateways();
        services.AddSingleton<SessionNotifier>();
        services.AddSingleton<Microsoft.EntityFrameworkCore.Diagnostics.IInterceptor, TransitionLog>();
        services.AddHostedService<PostgresFanOut>();
        services.AddScoped<SessionService>();
        services.AddScoped<NumberHealthService>();
        services.AddScoped<IGatewaySignalHandler, SessionSignalHandler>();
        services.AddSingleton<Reconciler>();
        services.AddHostedService(sp => sp.GetRequiredService<Reconciler>());
        return services;
    }

    public static IEndpointRouteBuilder MapSessions(this IEndpointRouteBuilder app)
    {
        var g = app.MapGroup("/api/v1/sessions").WithTags("Sessions").RequireRateLimiting(RateLimits.Api);
        const string read = ApiScopes.SessionsRead, control = ApiScopes.SessionsControl;

        g.MapGet("/", async (SessionService svc, HttpContext http, SessionState? state, string? reference, string? search, int? page, int? pageSize, CancellationToken ct) =>
                (await svc.PageAsync(new SessionFilter(state, reference, search), page, pageSize, ct)).WriteHeaders(http))
            .RequireTenant(read).WithName("ListSessions")
            .WithSummary("The tenant's WhatsApp numbers, a page at a time (?page=1&pageSize=50, at most 500); filter with ?state=Connected, ?reference=<your id> or ?search=<name or phone>. X-Total-Count and Link headers say where the page is.");
        g.MapPost("/", async Task<Created<SessionView>> (CreateSessionRequest body, SessionService svc, HttpContext http, CancellationToken ct) =>
        {
            var created = await svc.CreateAsync(Actor(http), body.DisplayName, body.GatewayId, body.Kind, ct, new NumberFields(body.Reference, body.Metadata, body.Proxy));
            return TypedResults.Created($"/api/v1/sessions/{created.Id}", created);
        }).RequireTenant(control, TenantRole.Admin).WithName("CreateSession").WithSummary("Adds a number; placed on the gateway with room unless one is named.");
        g.MapGet("/{sessionId:guid}", (Guid sessionId, SessionService svc, CancellationToken ct) => svc.GetAsync(sessionId, ct))
            .RequireTenant(read).WithName("GetSession");
        g.MapPatch("/{sessionId:guid}", (Guid sessionId, UpdateSessionRequest body, SessionService svc, HttpContext http, CancellationToken ct) =>
            svc.UpdateAsync(Actor(http), sessionId, body.DisplayName, body.DailyLimit, body.ClearDailyLimit, ct, new NumberFields(body.Reference, body.Metadata, body.Proxy)))
            .RequireTenant(control, TenantRole.Admin).WithName("UpdateSession").WithSummary("Renames the number, sets its daily limit, its reference, metadata or proxy.");
        g.MapDelete("/{sessionId:guid}", async (Guid sessionId, SessionService svc, HttpContext http, CancellationToken ct) =>
        {
            await svc.DeleteAsync(Actor(http), sessionId, ct);
            return TypedResults.NoContent();
        }).RequireTenant(control, TenantRole.Admin).WithName("DeleteSession").WithSummary("Logs the number out, removes it from its gateway and from ZapHub.");
        g.MapPost("/{sessionId:guid}/connect", async (Guid sessionId, ConnectRequest? body, SessionService svc, HttpContext http, CancellationToken ct) =>
        {
            var pairing = string.Equals(body?.Mode, "pairing", StringComparison.OrdinalIgnoreCase);
            if (pairing && string.IsNullOrWhiteSpace(body?.Phone))
                throw ProblemException.Invalid("phone", "phone_required", "A pairing code needs the phone number that will link, e.g. (11) 99999-0001.");
            if (body?.Mode is { } mode && !pairing && !string.Equals(mode, "qr", StringComparison.OrdinalIgnoreCase))
                throw ProblemException.Invalid("mode", "connect_mode", "mode must be \"qr\" or \"pairing\".");
            return TypedResults.Accepted($"/api/v1/sessions/{sessionId}/qr", await svc.ConnectAsync(Actor(http), sessionId, pairing ? body!.Phone : null, ct));
        }).RequireTenant(control).WithName("ConnectSession").WithSummary("Starts a connection by QR code (default) or by pairing code; follow it with /qr or the live stream.");
        g.MapGet("/{sessionId:guid}/qr", (Guid sessionId, SessionService svc, CancellationToken ct) => svc.GetQrAsync(sessionId, ct))
            .RequireTenant(read).WithName("GetSessionQr").WithSummary("The QR code (or pairing code) to show now, with its expiry.");
        g.MapPost("/{sessionId:guid}/logout", (Guid sessionId, SessionService svc, HttpContext http, CancellationToken ct) => svc.LogoutAsync(Actor(http), sessionId, ct))
            .RequireTenant(control).WithName("LogoutSession").WithSummary("Unlinks the phone; connecting again needs a new scan.");
        g.MapPost("/{sessionId:guid}/close", (Guid sessionId, SessionService svc, HttpContext http, CancellationToken ct) => svc.CloseAsync(Actor(http), sessionId, ct))
            .RequireTenant(control).WithName("CloseSession");
        g.MapPost("/{sessionId:guid}/restart", (Guid sessionId, SessionService svc, HttpContext http, CancellationToken ct) => svc.RestartAsync(Actor(http), sessionId, ct))
            .RequireTenant(control).WithName("RestartSession");
        g.MapPost("/{sessionId:guid}/primary", (Guid sessionId, SessionService svc, HttpContext http, CancellationToken ct) => svc.SetPrimaryAsync(Actor(http), sessionId, ct))
            .RequireTenant(control, TenantRole.Admin).WithName("SetPrimarySession").WithSummary("Makes this the tenant's primary number (one per tenant).");
        g.MapPost("/{sessionId:guid}/enable", (Guid sessionId, SessionService svc, HttpContext http, CancellationToken ct) => svc.SetEnabledAsync(Actor(http), sessionId, true, ct))
            .RequireTenant(control, TenantRole.Admin).WithName("EnableSession");
        g.MapPost("/{sessionId:guid}/disable", (Guid sessionId, SessionService svc, HttpContext http, CancellationToken ct) => svc.SetEnabledAsync(Actor(http), sessionId, false, ct))
            .RequireTenant(control, TenantRole.Admin).WithName("DisableSession");
        g.MapPost("/{sessionId:guid}/test-message", (Guid sessionId, TestMessageRequest body, SessionService svc, HttpContext http, CancellationToken ct) =>
            svc.SendTestAsync(Actor(http), sessionId, body.To, body.Text, ct))
            .RequireTenant(ApiScopes.MessagesSend).WithName("SendTestMessage").WithSummary("Sends a text right away (no queue) to a number typed any common Brazilian way.");
        g.MapGet("/health", (NumberHealthService svc, CancellationToken ct, int days = 30) => svc.ForTenantAsync(days, ct))
            .RequireTenant(read).WithName("GetTenantHealth")
            .WithSummary("All the tenant's numbers, day by day in its time zone: messages sent, delivered, read, failed and received, uptime and reconnections; and each number's daily-limit use and warm-up day.");
        g.MapGet("/{sessionId:guid}/health", (Guid sessionId, NumberHealthService svc, CancellationToken ct, int days = 30) => svc.ForNumberAsync(sessionId, days, ct))
            .RequireTenant(read).WithName("GetSessionHealth")
            .WithSummary("One number day by day (default the last 30 days, at most 90): messages sent, delivered, read, failed and received, uptime and reconnections; its daily-limit use and warm-up day.");
        g.MapGet("/{sessionId:guid}/timeline", (Guid sessionId, SessionService svc, CancellationToken ct) => svc.TimelineAsync(sessionId, ct))
            .RequireTenant(read).WithName("GetSessionTimeline").WithSummary("Every state change, newest first.");
        return app;
    }

    private static Actor Actor(HttpContext http) => Tenancy.Actor.From(http.User, TenancyEndpoints.Ip(http));
}
