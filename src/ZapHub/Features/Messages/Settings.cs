using Microsoft.EntityFrameworkCore;
using ZapHub.Data;
using ZapHub.Features.Tenancy;
using ZapHub.Platform;

namespace ZapHub.Features.Messages;

public sealed record MessagingSettingsView(
    int MinGapMs, int JitterMs, int TypingDelayMs, string? QuietFrom, string? QuietUntil, int WarmupDays, int WarmupFirstDayLimit,
    bool FailoverToOtherNumbers, int HoldMinutes, InDoubtPolicy InDoubt, int MaxAttempts, IReadOnlyList<string> OptOutKeywords);

public sealed class MessagingSettingsService(ZapHubDb db, TenantContext tenant, AuditLog audit, TimeProvider time, MessageDispatcher dispatcher)
{
    /// <summary>The tenant's rules; a tenant that never saved any gets the defaults.</summary>
    public static async Task<MessagingSettings> LoadAsync(ZapHubDb db, Guid tenantId, CancellationToken ct) =>
        await db.MessagingSettings.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking().FirstOrDefaultAsync(s => s.TenantId == tenantId, ct)
        ?? new MessagingSettings { TenantId = tenantId };

    public async Task<MessagingSettingsView> GetAsync(CancellationToken ct) => View(await LoadAsync(db, tenant.RequireTenant(), ct));

    public async Task<MessagingSettingsView> UpdateAsync(Actor actor, MessagingSettingsView request, CancellationToken ct)
    {
        Check(request.MinGapMs is >= 0 and <= 600_000, "minGapMs", "The gap between sends must be 0 to 600000 ms.");
        Check(request.JitterMs is >= 0 and <= 600_000, "jitterMs", "The jitter must be 0 to 600000 ms.");
        Check(request.TypingDelayMs is >= 0 and <= 20_000, "typingDelayMs", "The typing delay must be 0 to 20000 ms.");
        Check(request.WarmupDays is >= 0 and <= 60, "warmupDays", "Warm-up lasts 0 to 60 days.");
        Check(request.WarmupFirstDayLimit is >= 1 and <= 100_000, "warmupFirstDayLimit", "The first warm-up day allows 1 to 100000 messages.");
        Check(request.HoldMinutes is >= 1 and <= 10_080, "holdMinutes", "Messages may wait for their number 1 minute to 7 days (10080 minutes).");
        Check(request.MaxAttempts is >= 1 and <= 20, "maxAttempts", "Allow 1 to 20 attempts.");
        var quietFrom = Time(request.QuietFrom, "quietFrom");
        var quietUntil = Time(request.QuietUntil, "quietUntil");
        Check(quietFrom.HasValue == quietUntil.HasValue, quietFrom is null ? "quietFrom" : "quietUntil", "Give both ends of the quiet hours, or neither.");
        var keywords = request.OptOutKeywords.Select(k => k.Trim().ToUpperInvariant()).Where(k => k.Length > 0).Distinct().ToList();
        Check(keywords.All(k => k.Length <= 30) && string.Join(", ", keywords).Length <= 300, "optOutKeywords", "Keep each opt-out word under 30 characters.");

        var tenantId = tenant.RequireTenant();
        var row = await db.MessagingSettings.FirstOrDefaultAsync(s => s.TenantId == tenantId, ct);
        if (row is null) db.MessagingSettings.Add(row = new MessagingSettings { TenantId = tenantId });
        row.MinGapMs = request.MinGapMs;
        row.JitterMs = request.JitterMs;
        row.TypingDelayMs = request.TypingDelayMs;
        (row.QuietFrom, row.QuietUntil) = (quietFrom, quietUntil);
        row.WarmupDays = request.WarmupDays;
        row.WarmupFirstDayLimit = request.WarmupFirstDayLimit;
        row.FailoverToOtherNumbers = request.FailoverToOtherNumbers;
        row.HoldMinutes = request.HoldMinutes;
        row.InDoubt = request.InDoubt;
        row.MaxAttempts = request.MaxAttempts;
        row.OptOutKeywords = string.Join(", ", keywords);
        row.UpdatedAt = time.UtcNow();
        audit.Add(db, actor, tenantId, "messaging.settings", "tenant", tenantId.ToString(),
            Note.Of("audit_messaging_settings", ("gap", row.MinGapMs), ("jitter", row.JitterMs), ("from", request.QuietFrom ?? "-"), ("until", request.QuietUntil ?? "-"),
                ("failover", Note.Key(row.FailoverToOtherNumbers ? "common.yes" : "common.no")), ("inDoubt", Note.Key("indoubt." + row.InDoubt))).Store());
        await db.SaveChangesAsync(ct);
        dispatcher.Forget(tenantId);
        return View(row);
    }

    public static IReadOnlyList<string> Keywords(MessagingSettings s) =>
        s.OptOutKeywords.Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static MessagingSettingsView View(MessagingSettings s) => new(
        s.MinGapMs, s.JitterMs, s.TypingDelayMs, s.QuietFrom?.ToString("HH:mm"), s.QuietUntil?.ToString("HH:mm"), s.WarmupDays, s.WarmupFirstDayLimit,
        s.FailoverToOtherNumbers, s.HoldMinutes, s.InDoubt, s.MaxAttempts, Keywords(s));

    private static TimeOnly? Time(string? value, string field)
    {
        if (string.IsNullOrWhiteSpace(value)) return null;
        return TimeOnly.TryParseExact(value.Trim(), "HH:mm", out var t) ? t
            : throw ProblemException.Invalid(field, "time_format", "Write the time as HH:mm, e.g. 21:00.");
    }

    private static void Check(bool ok, string field, string message)
    {
        if (!ok) throw ProblemException.Invalid(field, "setting_range", message);
    }
}
