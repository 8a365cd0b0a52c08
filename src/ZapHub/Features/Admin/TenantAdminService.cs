using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using ZapHub.Data;
using ZapHub.Features.Accounts;
using ZapHub.Features.Tenancy;
using ZapHub.Platform;

namespace ZapHub.Features.Admin;

public sealed record TenantView(Guid Id, string Name, string Slug, string TimeZone, string Locale, bool Enabled, int MaxSessions, int Members, DateTime CreatedAt,
    string? LogoUrl, string? BrandColor, IReadOnlyList<string> EmbedOrigins);

public sealed record CreatedTenant(TenantView Tenant, string? OwnerEmail, string? OwnerOneTimePassword);

/// <summary>Null branding and origins leave what the tenant has; an empty list of origins clears them.</summary>
public sealed record TenantInput(string Name, string Slug, string? TimeZone, string? Locale, int? MaxSessions,
    string? LogoUrl = null, string? BrandColor = null, IReadOnlyList<string>? EmbedOrigins = null);

/// <summary>Operator-only tenant management. Runs in the platform scope: it writes rows of many tenants.</summary>
public sealed partial class TenantAdminService(ZapHubDb db, TenantContext scope, UserManager<User> users, AuditLog audit, TimeProvider time)
{
    public static readonly IReadOnlyList<string> Locales = ["pt-BR", "en"];

    public async Task<IReadOnlyList<TenantView>> ListAsync(CancellationToken ct) =>
        await Views(db.Tenants.OrderBy(t => t.Name)).ToListAsync(ct);

    public async Task<TenantView> GetAsync(Guid id, CancellationToken ct) =>
        await Views(db.Tenants.Where(t => t.Id == id)).FirstOrDefaultAsync(ct) ?? throw ProblemException.NotFound("Tenant");

    public async Task<CreatedTenant> CreateAsync(Actor actor, TenantInput input, string? ownerEmail, CancellationToken ct)
    {
        scope.UsePlatformScope();
        var tenant = new Tenant { Name = "", Slug = "", CreatedAt = time.UtcNow(), UpdatedAt = time.UtcNow() };
        Apply(tenant, input);
        if (await db.Tenants.AnyAsync(t => t.Slug == tenant.Slug, ct))
            throw ProblemException.Conflict("slug_taken", $"The slug '{tenant.Slug}' is already used by another tenant.");

        await using var tx = await db.Database.BeginTransactionAsync(ct);
        db.Tenants.Add(tenant);
        var (owner, password) = string.IsNullOrWhiteSpace(ownerEmail) ? (null, null) : await UserAccounts.FindOrCreateUserAsync(users, ownerEmail, time, ct);
        if (owner is not null) db.Memberships.Add(new Membership { TenantId = tenant.Id, UserId = owner.Id, Role = TenantRole.Owner, CreatedAt = time.UtcNow() });
        audit.Add(db, actor, tenant.Id, "tenant.created", "tenant", tenant.Id.ToString(),
            Note.Of("audit_tenant_created", ("name", tenant.Name), ("slug", tenant.Slug), ("owner", owner?.Email ?? "—")).Store());
        await db.SaveChangesAsync(ct);
        await tx.CommitAsync(ct);
        return new CreatedTenant(await GetAsync(tenant.Id, ct), owner?.Email, password);
    }

    public async Task<TenantView> UpdateAsync(Actor actor, Guid id, TenantInput input, CancellationToken ct)
    {
        scope.UsePlatformScope();
        var tenant = await db.Tenants.FirstOrDefaultAsync(t => t.Id == id, ct) ?? throw ProblemException.NotFound("Tenant");
        var oldSlug = tenant.Slug;
        Apply(tenant, input);
        if (tenant.Slug != oldSlug && await db.Tenants.AnyAsync(t => t.Slug == tenant.Slug && t.Id != id, ct))
            throw ProblemException.Conflict("slug_taken", $"The slug '{tenant.Slug}' is already used by another tenant.");
        tenant.UpdatedAt = time.UtcNow();
        audit.Add(db, actor, tenant.Id, "tenant.updated", "tenant", tenant.Id.ToString(),
            Note.Of("audit_tenant_updated", ("name", tenant.Name), ("slug", tenant.Slug), ("zone", tenant.TimeZone), ("locale", tenant.Locale), ("max", tenant.MaxSessions)).Store());
        await db.SaveChangesAsync(ct);
        return await GetAsync(id, ct);
    }

    public async Task<TenantView> SetEnabledAsync(Actor actor, Guid id, bool enabled, CancellationToken ct)
    {
        scope.UsePlatformScope();
        var tenant = await db.Tenants.FirstOrDefaultAsync(t => t.Id == id, ct) ?? throw ProblemException.NotFound("Tenant");
        if (tenant.Enabled != enabled)
        {
            tenant.Enabled = enabled;
            tenant.UpdatedAt = time.UtcNow();
            audit.Add(db, actor, tenant.Id, enabled ? "tenant.enabled" : "tenant.disabled", "tenant", tenant.Id.ToString(), tenant.Name);
            await db.SaveChangesAsync(ct);
        }
        return await GetAsync(id, ct);
    }

    private IQueryable<TenantView> Views(IQueryable<Tenant> tenants)
    {
        var memberships = db.Memberships.IgnoreQueryFilters(TenantFilterOnly);
        return tenants.AsNoTracking().Select(t => new TenantView(t.Id, t.Name, t.Slug, t.TimeZone, t.Locale, t.Enabled, t.MaxSessions,
            memberships.Count(m => m.TenantId == t.Id), t.CreatedAt, t.LogoUrl, t.BrandColor, t.EmbedOriginList));
    }

    private static readonly string[] TenantFilterOnly = [ZapHubDb.TenantFilter];

    private static void Apply(Tenant tenant, TenantInput input)
    {
        var name = input.Name?.Trim() ?? "";
        if (name.Length is < 2 or > 120)
            throw ProblemException.Invalid("name", "tenant_name", "The name must have 2 to 120 characters.");
        var slug = input.Slug?.Trim().ToLowerInvariant() ?? "";
        if (!SlugPattern().IsMatch(slug))
            throw ProblemException.Invalid("slug", "tenant_slug", "The slug must have 2 to 60 lowercase letters, digits or hyphens, starting with a letter or digit.");
        var timeZone = string.IsNullOrWhiteSpace(input.TimeZone) ? Tenant.DefaultTimeZone : input.TimeZone.Trim();
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(timeZone, out _))
            throw ProblemException.Invalid("timeZone", "tenant_timezone", $"'{timeZone}' is not a known time zone (use an IANA id such as America/Sao_Paulo).");
        var locale = string.IsNullOrWhiteSpace(input.Locale) ? Tenant.DefaultLocale : input.Locale.Trim();
        if (!Locales.Contains(locale))
            throw ProblemException.Invalid("locale", "tenant_locale", $"The locale must be one of: {string.Join(", ", Locales)}.");
        var maxSessions = input.MaxSessions ?? tenant.MaxSessions;
        if (maxSessions is < 1 or > 10_000)
            throw ProblemException.Invalid("maxSessions", "tenant_max_sessions", "The session limit must be between 1 and 10000.");

        if (input.LogoUrl is { } logo)
        {
            logo = logo.Trim();
            if (logo.Length > 0 && (logo.Length > 500 || !Uri.TryCreate(logo, UriKind.Absolute, out var logoUri) || logoUri.Scheme != Uri.UriSchemeHttps))
                throw ProblemException.Invalid("logoUrl", "tenant_logo", "The logo must be an https address of at most 500 characters.");
            tenant.LogoUrl = logo.Length > 0 ? logo : null;
        }
        if (input.BrandColor is { } color)
        {
            color = color.Trim();
            if (color.Length > 0 && !ColorPattern().IsMatch(color))
                throw ProblemException.Invalid("brandColor", "tenant_color", "The colour must be written #rrggbb, e.g. #128c4a.");
            tenant.BrandColor = color.Length > 0 ? color.ToLowerInvariant() : null;
        }
        if (input.EmbedOrigins is { } origins)
        {
            var clean = origins.Select(o => EmbedOrigin.Parse(o) ?? throw ProblemException.Invalid("embedOrigins", "tenant_embed_origin",
                $"'{o}' is not an origin: write scheme and host only, https (http only for localhost), e.g. https://app.example.com.")).Distinct().ToList();
            if (clean.Count > 20) throw ProblemException.Invalid("embedOrigins", "tenant_embed_origins", "At most 20 origins.");
            tenant.EmbedOrigins = clean.Count > 0 ? string.Join(' ', clean) : null;
        }
        tenant.Name = name;
        tenant.Slug = slug;
        tenant.TimeZone = timeZone;
        tenant.Locale = locale;
        tenant.MaxSessions = maxSessions;
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,59}$")]
    private static partial Regex SlugPattern();

    [GeneratedRegex("^#[0-9a-fA-F]{6}$")]
    private static partial Regex ColorPattern();
}
