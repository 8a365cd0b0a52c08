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

/// <summary>Key format: <c>zh_&lt;10-char id&gt;_&lt;43-char secret&gt;</c>. The id part finds the row; the hash proves the secret.</summary>
public static class ApiKeyFormat
{
    private const string Alphabet = "abcdefghijkmnopqrstuvwxyz23456789";

    public static (string Prefix, string Key) Generate()
    {
        var id = RandomNumberGenerator.GetString(Alphabet, 10);
        var secret = Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        var prefix = $"zh_{id}";
        return (prefix, $"{prefix}_{secret}");
    }

    public static bool TryGetPrefix(string key, out string prefix)
    {
        prefix = "";
        if (key.Length is < 20 or > 100 || !key.StartsWith("zh_", StringComparison.Ordinal)) return false;
        var end = key.IndexOf('_', 3);
        if (end != 13) return false;
        prefix = key[..end];
        return true;
    }

    public static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

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
        if (!ApiKeyFormat.TryGetPrefix(presented, out var prefix))
            return AuthenticateResult.Fail("Malformed API key.");

        var key = await db.ApiKeys.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking()
            .FirstOrDefaultAsync(k => k.Prefix == prefix, Context.RequestAborted);
        // Compare against a dummy hash when the row is missing so timing does not reveal which prefixes exist.
        var expected = key?.Hash ?? new byte[32];
        var matches = CryptographicOperations.FixedTimeEquals(expected, ApiKeyFormat.Hash(presented));
        if (key is null || !matches || key.RevokedAt is not null)
            return AuthenticateResult.Fail("Unknown or revoked API key.");

        var now = time.UtcNow();
        if (key.LastUsedAt is null || now - key.LastUsedAt > LastUsedResolution)
            await db.ApiKeys.IgnoreQueryFilters([ZapHubDb.TenantFilter]).Where(k => k.Id == key.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(k => k.LastUsedAt, now), Context.RequestAborted);

        var claims = new List<Claim>
        {
            new(ClaimTypes.NameIdentifier, key.Id.ToString()),
            new(ClaimTypes.Name, $"api-key:{key.Name}"),
            new(ZapHubClaims.Tenant, key.TenantId.ToString()),
            new(ZapHubClaims.ActorKind, nameof(ActorKind.ApiKey)),
        };
        claims.AddRange(key.ScopeList.Select(s => new Claim(ZapHubClaims.Scope, s)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

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
