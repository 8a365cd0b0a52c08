using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ZapHub.Data;
using ZapHub.Features.Tenancy;
using ZapHub.Platform;

namespace ZapHub.Features.ConnectLinks;

/// <param name="ExpiresInMinutes">How long the link lives (default 30 minutes, at most 7 days).</param>
/// <param name="ReturnUrl">Where a page opened on its own goes when connected or abandoned (an address on an allowed origin); the outcome is added as ?zaphub_outcome=.</param>
/// <param name="Locale">pt-BR (the tenant's default) or en.</param>
/// <param name="Method">qr (default) or pairing.</param>
public sealed record CreateConnectLinkRequest(int? ExpiresInMinutes = null, string? ReturnUrl = null, string? Locale = null, string? Method = null);

/// <param name="Url">The link itself: shown once, when it is created.</param>
/// <param name="Status">active, used, expired or revoked.</param>
public sealed record ConnectLinkView(Guid Id, Guid SessionId, string? Url, DateTime ExpiresAt, string Method, string Locale, string? ReturnUrl,
    DateTime CreatedAt, DateTime? OpenedAt, DateTime? UsedAt, DateTime? RevokedAt, string Status);

/// <summary>Why a link can no longer be used, as its page says it.</summary>
public enum LinkStatus { Active, Used, Expired, Revoked, Unknown }

/// <summary>A link as its page finds it: the link, its tenant, whether it may still be used, and who may frame it.</summary>
public sealed record OpenedLink(ConnectLink Link, Tenant Tenant, LinkStatus Status, IReadOnlyList<string> AllowedOrigins);

/// <summary>Connect links: created and revoked by a tenant's (or the platform's) backend, opened by anyone holding one.</summary>
public sealed class ConnectLinkService(ZapHubDb db, TenantContext tenant, AuditLog audit, TimeProvider time, IOptions<ConnectLinkOptions> options)
{
    public const string TokenPrefix = LogSafe.LinkTokenPrefix;
    public static readonly IReadOnlyList<string> Methods = ["qr", "pairing"];

    public async Task<ConnectLinkView> CreateAsync(Actor actor, Guid sessionId, CreateConnectLinkRequest request, Uri requestBase, CancellationToken ct)
    {
        var tenantId = tenant.RequireTenant();
        if (!await db.Sessions.AnyAsync(s => s.Id == sessionId, ct)) throw ProblemException.NotFound("Session");
        var owner = await db.Tenants.AsNoTracking().FirstAsync(t => t.Id == tenantId, ct);
        var o = options.Value;
        var lifetime = request.ExpiresInMinutes is { } minutes ? TimeSpan.FromMinutes(minutes) : o.DefaultLifetime;
        if (lifetime < TimeSpan.FromMinutes(1) || lifetime > o.MaxLifetime)
            throw ProblemException.Invalid("expiresInMinutes", "link_lifetime", $"A link lives 1 to {(int)o.MaxLifetime.TotalMinutes} minutes.");
        var method = (request.Method ?? "qr").Trim().ToLowerInvariant();
        if (!Methods.Contains(method)) throw ProblemException.Invalid("method", "link_method", "The method is qr or pairing.");
        var locale = request.Locale?.Trim() is { Length: > 0 } asked ? Localization.Cultures.FirstOrDefault(c => c.Equals(asked, StringComparison.OrdinalIgnoreCase)) : owner.Locale;
        if (locale is null) throw ProblemException.Invalid("locale", "link_locale", $"The locale is one of: {string.Join(", ", Localization.Cultures)}.");
        string? returnUrl = null;
        if (!string.IsNullOrWhiteSpace(request.ReturnUrl))
        {
            returnUrl = request.ReturnUrl.Trim();
            if (returnUrl.Length > 1000 || !Uri.TryCreate(returnUrl, UriKind.Absolute, out var back) || EmbedOrigin.Parse(back.GetLeftPart(UriPartial.Authority)) is not { } origin
                || !AllowedOrigins(owner).Contains(origin))
                throw ProblemException.Invalid("returnUrl", "link_return_url",
                    "The return address must be on an origin the tenant (or the platform) allowed for embedding; set the tenant's embedOrigins first.");
        }

        var token = TokenPrefix + System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var now = time.UtcNow();
        var link = new ConnectLink
        {
            TenantId = tenantId, SessionId = sessionId, TokenHash = Hash(token), Method = method, Locale = locale, ReturnUrl = returnUrl,
            CreatedAt = now, CreatedBy = actor.Name, ExpiresAt = now + lifetime,
        };
        db.ConnectLinks.Add(link);
        audit.Add(db, actor, tenantId, "connectlink.created", "connect_link", link.Id.ToString(),
            Note.Of("audit_link_created", ("session", sessionId), ("method", method), ("until", link.ExpiresAt)).Store());
        await db.SaveChangesAsync(ct);
        var baseUrl = string.IsNullOrWhiteSpace(o.PublicBaseUrl) ? requestBase.ToString().TrimEnd('/') : o.PublicBaseUrl.TrimEnd('/');
        return View(link, now, $"{baseUrl}/connect/{token}");
    }

    public async Task<IReadOnlyList<ConnectLinkView>> ListAsync(Guid sessionId, CancellationToken ct)
    {
        if (!await db.Sessions.AnyAsync(s => s.Id == sessionId, ct)) throw ProblemException.NotFound("Session");
        var now = time.UtcNow();
        return (await db.ConnectLinks.AsNoTracking().Where(l => l.SessionId == sessionId).OrderByDescending(l => l.CreatedAt).Take(100).ToListAsync(ct))
            .Select(l => View(l, now, null)).ToList();
    }

    public async Task RevokeAsync(Actor actor, Guid sessionId, Guid linkId, CancellationToken ct)
    {
        var link = await db.ConnectLinks.FirstOrDefaultAsync(l => l.Id == linkId && l.SessionId == sessionId, ct) ?? throw ProblemException.NotFound("Connect link");
        if (link.RevokedAt is not null) return;
        link.RevokedAt = time.UtcNow();
        audit.Add(db, actor, link.TenantId, "connectlink.revoked", "connect_link", link.Id.ToString(), null);
        await db.SaveChangesAsync(ct);
    }

    /// <summary>The link a token names, in any tenant (the token is the credential); null if there is none.</summary>
    public async Task<OpenedLink?> FindAsync(string? token, CancellationToken ct)
    {
        if (token is null || !token.StartsWith(TokenPrefix, StringComparison.Ordinal) || token.Length > 100) return null;
        var hash = Hash(token);
        var link = await db.ConnectLinks.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking().FirstOrDefaultAsync(l => l.TokenHash == hash, ct);
        if (link is null) return null;
        var owner = await db.Tenants.AsNoTracking().FirstAsync(t => t.Id == link.TenantId, ct);
        var status = !owner.Enabled || link.RevokedAt is not null ? LinkStatus.Revoked
            : link.UsedAt is not null ? LinkStatus.Used
            : link.ExpiresAt <= time.UtcNow() ? LinkStatus.Expired
            : LinkStatus.Active;
        return new OpenedLink(link, owner, status, AllowedOrigins(owner));
    }

    /// <summary>Someone opened the page: remembered on the link and in the tenant's audit log.</summary>
    public async Task RecordOpenAsync(OpenedLink opened, string? ip, CancellationToken ct)
    {
        tenant.Set(opened.Link.TenantId, null);
        var now = time.UtcNow();
        await db.ConnectLinks.Where(l => l.Id == opened.Link.Id && l.OpenedAt == null).ExecuteUpdateAsync(u => u.SetProperty(l => l.OpenedAt, now), ct);
        audit.Add(db, ActorOf(opened.Link, ip), opened.Link.TenantId, "connectlink.opened", "connect_link", opened.Link.Id.ToString(),
            Note.Of("audit_link_opened", ("status", Note.Key("link.status." + opened.Status))).Store());
        await db.SaveChangesAsync(ct);
    }

    /// <summary>The number connected through the link: the link is used up.</summary>
    public async Task MarkUsedAsync(Guid linkId, CancellationToken ct)
    {
        var now = time.UtcNow();
        await db.ConnectLinks.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(l => l.Id == linkId && l.UsedAt == null)
            .ExecuteUpdateAsync(u => u.SetProperty(l => l.UsedAt, now), ct);
    }

    /// <summary>Who acts when the page connects the number: the link, named in the audit log.</summary>
    public static Actor ActorOf(ConnectLink link, string? ip = null) => new(ActorKind.ConnectLink, link.Id.ToString(), "connect-link:" + link.Id.ToString()[^8..], ip);

    private IReadOnlyList<string> AllowedOrigins(Tenant owner) =>
        [.. owner.EmbedOriginList, .. options.Value.AllowedOrigins.Select(EmbedOrigin.Parse).OfType<string>()];

    private static ConnectLinkView View(ConnectLink l, DateTime now, string? url) => new(l.Id, l.SessionId, url, l.ExpiresAt, l.Method, l.Locale, l.ReturnUrl,
        l.CreatedAt, l.OpenedAt, l.UsedAt, l.RevokedAt,
        l.RevokedAt is not null ? "revoked" : l.UsedAt is not null ? "used" : l.ExpiresAt <= now ? "expired" : "active");

    private static byte[] Hash(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));
}
