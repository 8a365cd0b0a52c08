using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ZapHub.Data;
using ZapHub.Platform;

namespace ZapHub.Features.Tenancy;

/// <summary>
/// Key format: <c>zh_&lt;10-char id&gt;_&lt;43-char secret&gt;</c> for a tenant's key, <c>zhp_…</c> for a platform key.
/// The id part finds the row; the hash proves the secret.
/// </summary>
public static class ApiKeyFormat
{
    public const string TenantKind = "zh", PlatformKind = "zhp";
    private const string Alphabet = "abcdefghijkmnopqrstuvwxyz23456789";

    public static (string Prefix, string Key) Generate(string kind = TenantKind)
    {
        var id = RandomNumberGenerator.GetString(Alphabet, 10);
        var secret = Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        var prefix = $"{kind}_{id}";
        return (prefix, $"{prefix}_{secret}");
    }

    /// <summary>The key's public prefix and its kind (<see cref="TenantKind"/> or <see cref="PlatformKind"/>).</summary>
    public static bool TryGetPrefix(string key, out string prefix, out string kind)
    {
        (prefix, kind) = ("", "");
        if (key.Length is < 20 or > 100) return false;
        kind = key.StartsWith(PlatformKind + "_", StringComparison.Ordinal) ? PlatformKind : key.StartsWith(TenantKind + "_", StringComparison.Ordinal) ? TenantKind : "";
        if (kind.Length == 0) return false;
        var end = key.IndexOf('_', kind.Length + 1);
        if (end != kind.Length + 11) return false;
        prefix = key[..end];
        return true;
    }

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    /// <summary>A new key's name and scopes as stored (scopes in <paramref name="known"/>'s order), or the refusal a person reads.</summary>
    public static (string Name, string Scopes) Checked(string? name, IReadOnlyCollection<string> scopes, IReadOnlyList<string> known)
    {
        name = name?.Trim() ?? "";
        if (name.Length is 0 or > 100)
            throw ProblemException.Invalid("name", "apikey_name", "Give the key a name of 1 to 100 characters.");
        if (scopes.Count == 0)
            throw ProblemException.Invalid("scopes", "apikey_scopes_empty", "Choose at least one scope.");
        if (scopes.FirstOrDefault(s => !known.Contains(s)) is { } unknown)
            throw ProblemException.Invalid("scopes", "apikey_scope_unknown", $"Unknown scope '{unknown}'. Known scopes: {string.Join(", ", known)}.");
        return (name, string.Join(' ', known.Where(scopes.Contains)));
    }

    private static string Base64UrlEncode(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ZapHubDb db,
    TimeProvider time,
    IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    private static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (header is null || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return AuthenticateResult.NoResult();
        var presented = header["Bearer ".Length..].Trim();
        if (!ApiKeyFormat.TryGetPrefix(presented, out var prefix, out var kind))
            return AuthenticateResult.Fail("Malformed API key.");

        var platform = kind == ApiKeyFormat.PlatformKind;
        var key = platform
            ? await db.PlatformKeys.AsNoTracking().Where(k => k.Prefix == prefix)
                .Select(k => new Found(k.Id, k.Name, k.Hash, k.Scopes, k.RevokedAt, k.LastUsedAt, null)).FirstOrDefaultAsync(Context.RequestAborted)
            : await db.ApiKeys.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking().Where(k => k.Prefix == prefix)
                .Select(k => new Found(k.Id, k.Name, k.Hash, k.Scopes, k.RevokedAt, k.LastUsedAt, k.TenantId)).FirstOrDefaultAsync(Context.RequestAborted);
        // Compare against a dummy hash when the row is missing so timing does not reveal which prefixes exist.
        var expected = key?.Hash ?? new byte[32];
        var matches = CryptographicOperations.FixedTimeEquals(expected, ApiKeyFormat.Hash(presented));
        if (key is null || !matches || key.RevokedAt is not null)
            return AuthenticateResult.Fail("Unknown or revoked API key.");

        var now = time.UtcNow();
        if (key.LastUsedAt is null || now - key.LastUsedAt > LastUsedResolution)
        {
            if (platform) await db.PlatformKeys.Where(k => k.Id == key.Id).ExecuteUpdateAsync(s => s.SetProperty(k => k.LastUsedAt, now), Context.RequestAborted);
            else await db.ApiKeys.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(k => k.Id == key.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(k => k.LastUsedAt, now), Context.RequestAborted);
        }

        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, key.Id.ToString()),
            new(ClaimTypes.Name, (platform ? "platform-key:" : "api-key:") + key.Name),
            new(ZapHubClaims.ActorKind, platform ? nameof(ActorKind.PlatformKey) : nameof(ActorKind.ApiKey)),
        };
        // A tenant's key carries its tenant; a platform key names one per request (TenantAccess).
        if (key.TenantId is { } tenantId) claims.Add(new(ZapHubClaims.Tenant, tenantId.ToString()));
        claims.AddRange(key.Scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => new Claim(ZapHubClaims.Scope, s)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    private sealed record Found(Guid Id, string Name, byte[] Hash, string Scopes, DateTime? RevokedAt, DateTime? LastUsedAt, Guid? TenantId);

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = new ProblemDetails
            {
                Status = 401,
                Title = "Authentication required.",
                Detail = "Send a valid API key as 'Authorization: Bearer zh_...'. The key may be unknown or revoked.",
            },
        });
    }
}
