using System.Security.Claims;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Localization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using ZapHub.Data;
using ZapHub.Features.Tenancy;
using ZapHub.Platform;

namespace ZapHub.Features.Accounts;

public sealed record MeView(Guid Id, string Email, bool IsOperator, Guid? CurrentTenantId, IReadOnlyList<MyTenant> Tenants);
public sealed record MyTenant(Guid Id, string Name, string Slug, string Role, bool Enabled);

/// <summary>
/// Cookie sign-in happens in plain form posts (the dashboard's interactive circuit cannot set cookies).
/// Each form carries an antiforgery token, which the framework checks for every form-bound endpoint.
/// </summary>
public static class AccountEndpoints
{
    public static IEndpointRouteBuilder MapAccounts(this IEndpointRouteBuilder app)
    {
        var account = app.MapGroup("/account").ExcludeFromDescription();

        account.MapPost("/login", async ([FromForm] LoginForm form, SignInManager<User> signIn, ZapHubDb db, AuditLog audit, HttpContext http) =>
        {
            var user = await signIn.UserManager.FindByEmailAsync(form.Email?.Trim() ?? "");
            if (user is null) return Back("/login", "invalid", form.ReturnUrl);
            var result = await signIn.CheckPasswordSignInAsync(user, form.Password ?? "", lockoutOnFailure: true);
            if (result.IsLockedOut)
            {
                audit.Add(db, new Actor(ActorKind.User, user.Id.ToString(), user.Email!, TenancyEndpoints.Ip(http)), null, "user.locked_out", "user", user.Id.ToString());
                await db.SaveChangesAsync();
                return Back("/login", "locked", form.ReturnUrl);
            }
            if (!result.Succeeded) return Back("/login", "invalid", form.ReturnUrl);

            var tenantId = await FirstTenantAsync(db, user.Id);
            await SignInAsync(signIn, user, tenantId);
            if (user.MustChangePassword) return Results.LocalRedirect("/account/password");
            return Results.LocalRedirect(SafeReturnUrl(form.ReturnUrl));
        }).RequireRateLimiting(RateLimits.Login);

        // The form binding makes the framework demand the antiforgery token: a page elsewhere cannot sign anyone out.
        account.MapPost("/logout", async ([FromForm] LogoutForm form, SignInManager<User> signIn) =>
        {
            await signIn.SignOutAsync();
            return Results.LocalRedirect("/login");
        });

        account.MapPost("/password", async ([FromForm] PasswordForm form, SignInManager<User> signIn, HttpContext http) =>
        {
            var user = await signIn.UserManager.GetUserAsync(http.User);
            if (user is null) return Results.LocalRedirect("/login");
            if (form.NewPassword != form.ConfirmPassword) return Back("/account/password", "mismatch", null);
            var result = await signIn.UserManager.ChangePasswordAsync(user, form.CurrentPassword ?? "", form.NewPassword ?? "");
            if (!result.Succeeded)
            {
                var code = result.Errors.Any(e => e.Code == "PasswordMismatch") ? "current" : "weak";
                return Back("/account/password", code, null);
            }
            var forced = user.MustChangePassword;
            user.MustChangePassword = false;
            await signIn.UserManager.UpdateAsync(user);
            await SignInAsync(signIn, user, CurrentTenant(http.User));
            // After the change a one-time password forced, the person came to use ZapHub: take them in.
            return Results.LocalRedirect(forced ? "/" : "/account/password?done=1");
        }).RequireAuthorization();

        account.MapPost("/tenant", async ([FromForm] SwitchTenantForm form, SignInManager<User> signIn, ZapHubDb db, HttpContext http) =>
        {
            var user = await signIn.UserManager.GetUserAsync(http.User);
            if (user is null) return Results.LocalRedirect("/login");
            var isMember = await db.Memberships.IgnoreQueryFilters([ZapHubDb.TenantFilter])
                .AnyAsync(m => m.UserId == user.Id && m.TenantId == form.TenantId);
            if (isMember) await SignInAsync(signIn, user, form.TenantId);
            return Results.LocalRedirect(SafeReturnUrl(form.ReturnUrl));
        }).RequireAuthorization();

        app.MapGet("/culture/{culture}", (string culture, string? returnUrl, HttpContext http) =>
        {
            if (Localization.Cultures.Contains(culture))
                http.Response.Cookies.Append(CookieRequestCultureProvider.DefaultCookieName,
                    CookieRequestCultureProvider.MakeCookieValue(new RequestCulture(culture)),
                    new CookieOptions { MaxAge = TimeSpan.FromDays(365), SameSite = SameSiteMode.Lax, HttpOnly = true, IsEssential = true });
            return Results.LocalRedirect(SafeReturnUrl(returnUrl));
        }).ExcludeFromDescription();

        app.MapGet("/api/v1/me", async (ClaimsPrincipal principal, UserManager<User> users, ZapHubDb db, CancellationToken ct) =>
        {
            var user = await users.GetUserAsync(principal);
            if (user is null) return Results.Problem(statusCode: 403, title: "Only signed-in users have a profile; API keys do not.");
            var tenants = await MyTenantsAsync(db, user.Id, ct);
            return Results.Ok(new MeView(user.Id, user.Email!, user.IsOperator, CurrentTenant(principal), tenants));
        }).RequireAuthorization().RequireRateLimiting(RateLimits.Api).WithTags("Account").WithName("GetMe");
        return app;
    }

    public static Task<List<MyTenant>> MyTenantsAsync(ZapHubDb db, Guid userId, CancellationToken ct) =>
        db.Memberships.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AsNoTracking()
            .Where(m => m.UserId == userId).OrderBy(m => m.Tenant!.Name)
            .Select(m => new MyTenant(m.TenantId, m.Tenant!.Name, m.Tenant.Slug, m.Role.ToString(), m.Tenant.Enabled))
            .ToListAsync(ct);

    public static Guid? CurrentTenant(ClaimsPrincipal user) =>
        Guid.TryParse(user.FindFirst(ZapHubClaims.Tenant)?.Value, out var id) ? id : null;

    private static async Task<Guid?> FirstTenantAsync(ZapHubDb db, Guid userId) =>
        await db.Memberships.IgnoreQueryFilters([ZapHubDb.TenantFilter])
            .Where(m => m.UserId == userId && m.Tenant!.Enabled)
            .OrderBy(m => m.CreatedAt).Select(m => (Guid?)m.TenantId).FirstOrDefaultAsync();

    private static Task SignInAsync(SignInManager<User> signIn, User user, Guid? tenantId) =>
        signIn.SignInWithClaimsAsync(user, isPersistent: false,
            tenantId is { } id ? [new Claim(ZapHubClaims.Tenant, id.ToString())] : []);

    private static IResult Back(string page, string error, string? returnUrl) =>
        Results.LocalRedirect($"{page}?error={error}" + (returnUrl is null ? "" : $"&returnUrl={Uri.EscapeDataString(SafeReturnUrl(returnUrl))}"));

    /// <summary>Only local paths: an open redirect after login is a phishing tool.</summary>
    public static string SafeReturnUrl(string? url) =>
        !string.IsNullOrEmpty(url) && url.StartsWith('/') && !url.StartsWith("//") && !url.StartsWith("/\\") ? url : "/";
}

public sealed class LoginForm
{
    public string? Email { get; set; }
    public string? Password { get; set; }
    public string? ReturnUrl { get; set; }
}

public sealed class PasswordForm
{
    public string? CurrentPassword { get; set; }
    public string? NewPassword { get; set; }
    public string? ConfirmPassword { get; set; }
}

public sealed class LogoutForm
{
    public string? ReturnUrl { get; set; }
}

public sealed class SwitchTenantForm
{
    public Guid TenantId { get; set; }
    public string? ReturnUrl { get; set; }
}
