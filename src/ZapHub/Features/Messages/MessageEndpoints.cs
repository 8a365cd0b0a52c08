using ZapHub.Features.GatewayWebhooks;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using ZapHub.Data;
using ZapHub.Features.Tenancy;
using ZapHub.Platform;

namespace ZapHub.Features.Messages;

public static class MessageEndpoints
{
    public static IServiceCollection AddMessages(this IServiceCollection services)
    {
        services.AddOptions<MessagingOptions>().BindConfiguration(MessagingOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<MessageIntake>();
        services.AddHostedService(sp => sp.GetRequiredService<MessageIntake>());
        services.AddSingleton<PendingReceiptChecks>();
        services.AddScoped<IGatewaySignalHandler, MessageSignalHandler>();
        services.AddSingleton<DispatchLedger>();
        services.AddHostedService(sp => sp.GetRequiredService<DispatchLedger>());
        services.AddSingleton<SendRules>();
        services.AddSingleton<OutboxLeases>();
        services.AddSingleton<MessageWaits>();
        services.AddSingleton<MessageDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<MessageDispatcher>());
        services.AddScoped<MessageService>();
        services.AddScoped<TemplateService>();
        services.AddScoped<MessagingSettingsService>();
        return services;
    }

    public static IEndpointRouteBuilder MapMessages(this IEndpointRouteBuilder app)
    {
        const string send = ApiScopes.MessagesSend;
        var messages = app.MapGroup("/api/v1/messages").WithTags("Messages").RequireRateLimiting(RateLimits.Api);
        messages.MapPost("/", async Task<Accepted<MessageView>> (SendMessageRequest body, [FromHeader(Name = "Idempotency-Key")] string? idempotencyKey,
            MessageService svc, HttpContext http, CancellationToken ct) =>
        {
            var accepted = await svc.SendAsync(body, idempotencyKey, ct);
            if (accepted.Replayed) http.Response.Headers["Idempotent-Replayed"] = "true";
            return TypedResults.Accepted(accepted.Message.Url, accepted.Message);
        }).RequireTenant(send).WithName("SendMessage")
          .WithSummary("Queues a message (text, media or template) and answers 202 at once; Idempotency-Key makes retries safe, sendAt schedules it.");
        messages.MapPost("/batch", (SendBatchRequest body, MessageService svc, CancellationToken ct) => svc.SendBatchAsync(body, ct))
            .RequireTenant(send).WithName("SendMessageBatch")
            .WithSummary($"Queues up to {MessageService.MaxBatch} messages in one request; each is accepted or refused on its own (results[i].status 202, or 4xx with code and title).");
        messages.MapGet("/", (MessageService svc, MessageStatus? status, Guid? sessionId, string? peer, MessageDirection? direction, DateTime? before, int? limit, CancellationToken ct) =>
            svc.ListAsync(new MessageQuery(status, sessionId, peer, direction, before, limit ?? 50), ct))
            .RequireTenant(send).WithName("ListMessages").WithSummary("Newest first; filter by status, sessionId, peer, direction; page with ?before=<createdAt>.");
        messages.MapGet("/{messageId:guid}", (Guid messageId, MessageService svc, CancellationToken ct) => svc.GetAsync(messageId, ct))
            .RequireTenant(send).WithName("GetMessage").WithSummary("The message and its timeline: each status change and each attempt.");
        messages.MapPost("/{messageId:guid}/cancel", (Guid messageId, MessageService svc, HttpContext http, CancellationToken ct) => svc.CancelAsync(Actor(http), messageId, ct))
            .RequireTenant(send).WithName("CancelMessage").WithSummary("Cancels a scheduled, queued, held or in-doubt message.");
        messages.MapPost("/{messageId:guid}/resend", (Guid messageId, MessageService svc, HttpContext http, CancellationToken ct) => svc.ResendAsync(Actor(http), messageId, ct))
            .RequireTenant(send).WithName("ResendMessage").WithSummary("Sends a message in doubt again, once a person decided the recipient did not get it.");

        app.MapPost("/api/v1/media", async Task<Created<MediaFileView>> (IFormFile file, MessageService svc, HttpContext http, CancellationToken ct) =>
        {
            var uploaded = await svc.UploadAsync(Actor(http), file, ct);
            return TypedResults.Created($"/api/v1/media/{uploaded.Id}", uploaded);
        }).RequireTenant(send).WithTags("Messages").DisableAntiforgery().RequireRateLimiting(RateLimits.Api)
          .WithMetadata(new RequestSizeLimitAttribute(MessageService.MaxUploadBytes + 64 * 1024))
          .WithName("UploadMedia").WithSummary("Uploads a file (multipart field \"file\", up to 16 MB) to send by its id in media.fileId.");

        var contacts = app.MapGroup("/api/v1/contacts").WithTags("Contacts").RequireRateLimiting(RateLimits.Api);
        contacts.MapGet("/", (MessageService svc, string? search, bool? optedOut, CancellationToken ct) => svc.ContactsAsync(search, optedOut, ct))
            .RequireTenant(send).WithName("ListContacts");
        contacts.MapPost("/", async Task<Results<Created<ContactView>, Ok<ContactView>>> (SaveContactRequest body, MessageService svc, HttpContext http, CancellationToken ct) =>
        {
            var (contact, created) = await svc.SaveContactAsync(Actor(http), body, ct);
            return created ? TypedResults.Created($"/api/v1/contacts/{contact.Id}", contact) : TypedResults.Ok(contact);
        }).RequireTenant(send).WithName("SaveContact").WithSummary("Adds a contact by phone, or updates its name and opt-out (e.g. importing an opt-out list).");
        contacts.MapGet("/{contactId:guid}/messages", async (Guid contactId, MessageService svc, CancellationToken ct) =>
        {
            var (contact, conversation) = await svc.ConversationAsync(contactId, ct);
            return new { contact, messages = conversation };
        }).RequireTenant(send).WithName("GetConversation").WithSummary("The conversation with one contact, inbound and outbound, oldest first.");
        contacts.MapPost("/{contactId:guid}/opt-out", (Guid contactId, MessageService svc, HttpContext http, CancellationToken ct) => svc.SetOptOutAsync(Actor(http), contactId, true, ct))
            .RequireTenant(send).WithName("OptOutContact");
        contacts.MapPost("/{contactId:guid}/opt-in", (Guid contactId, MessageService svc, HttpContext http, CancellationToken ct) => svc.SetOptOutAsync(Actor(http), contactId, false, ct))
            .RequireTenant(send, TenantRole.Admin).WithName("OptInContact").WithSummary("Records that the contact agreed to marketing messages again.");

        var templates = app.MapGroup("/api/v1/templates").WithTags("Templates").RequireRateLimiting(RateLimits.Api);
        templates.MapGet("/", (TemplateService svc, CancellationToken ct) => svc.ListAsync(ct)).RequireTenant(send).WithName("ListTemplates");
        templates.MapGet("/{templateId:guid}", (Guid templateId, TemplateService svc, CancellationToken ct) => svc.GetAsync(templateId, ct)).RequireTenant(send).WithName("GetTemplate");
        templates.MapPost("/", async Task<Created<TemplateView>> (SaveTemplateRequest body, TemplateService svc, HttpContext http, CancellationToken ct) =>
        {
            var created = await svc.CreateAsync(Actor(http), body, ct);
            return TypedResults.Created($"/api/v1/templates/{created.Id}", created);
        }).RequireTenant(send, TenantRole.Admin).WithName("CreateTemplate").WithSummary("A named text with {{variables}}, checked on save.");
        templates.MapPut("/{templateId:guid}", (Guid templateId, SaveTemplateRequest body, TemplateService svc, HttpContext http, CancellationToken ct) =>
            svc.UpdateAsync(Actor(http), templateId, body, ct)).RequireTenant(send, TenantRole.Admin).WithName("UpdateTemplate");
        templates.MapDelete("/{templateId:guid}", async (Guid templateId, TemplateService svc, HttpContext http, CancellationToken ct) =>
        {
            await svc.DeleteAsync(Actor(http), templateId, ct);
            return TypedResults.NoContent();
        }).RequireTenant(send, TenantRole.Admin).WithName("DeleteTemplate");

        var settings = app.MapGroup("/api/v1/messaging/settings").WithTags("Messages").RequireRateLimiting(RateLimits.Api);
        settings.MapGet("/", (MessagingSettingsService svc, CancellationToken ct) => svc.GetAsync(ct)).RequireTenant(send).WithName("GetMessagingSettings");
        settings.MapPut("/", (MessagingSettingsView body, MessagingSettingsService svc, HttpContext http, CancellationToken ct) => svc.UpdateAsync(Actor(http), body, ct))
          .RequireTenant(send, TenantRole.Admin).WithName("UpdateMessagingSettings")
          .WithSummary("Pacing (gap, jitter, typing delay), quiet hours, warm-up, failover, waiting time, in-doubt policy, opt-out words.");

        app.MapPost("/api/v1/sessions/{sessionId:guid}/resume-sending", async (Guid sessionId, ZapHubDb db, AuditLog audit, MessageDispatcher dispatcher, HttpContext http, CancellationToken ct) =>
        {
            var session = await db.Sessions.AsNoTracking().FirstOrDefaultAsync(s => s.Id == sessionId, ct) ?? throw ProblemException.NotFound("Session");
            await db.Sessions.Where(s => s.Id == sessionId).ExecuteUpdateAsync(u => u.SetProperty(s => s.PausedUntil, (DateTime?)null).SetProperty(s => s.PauseReason, (string?)null), ct);
            audit.Add(db, Actor(http), session.TenantId, "session.resume_sending", "session", sessionId.ToString(), session.DisplayName);
            await db.SaveChangesAsync(ct);
            dispatcher.Wake();
            return TypedResults.NoContent();
        }).RequireTenant(ApiScopes.SessionsControl, TenantRole.Admin).WithTags("Sessions").RequireRateLimiting(RateLimits.Api)
          .WithName("ResumeSending").WithSummary("Lifts a pause ZapHub put on a number after WhatsApp pushed back.");
        return app;
    }

    private static Actor Actor(HttpContext http) => Tenancy.Actor.From(http.User, TenancyEndpoints.Ip(http));
}
