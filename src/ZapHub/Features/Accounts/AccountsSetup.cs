using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using ZapHub.Data;
using ZapHub.Features.Tenancy;
using ZapHub.Platform;

namespace ZapHub.Features.Accounts;

public sealed class LockoutSettings
{
    public const string Section = "Accounts:Lockout";

    [Range(1, 100)] public int MaxFailedAttempts { get; set; } = 5;
    public TimeSpan Duration { get; set; } = TimeSpan.FromMinutes(15);
}

public static class AccountsSetup
{
    public const string SmartScheme = "ZapHub";

    public static IServiceCollection AddAccounts(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<LockoutSettings>().BindConfiguration(LockoutSettings.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<BootstrapOptions>().BindConfiguration(BootstrapOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<DemoOptions>().BindConfiguration(DemoOptions.Section);

        services.AddIdentityCore<User>(o =>
            {
                o.User.RequireUniqueEmail = true;
                o.Password.RequiredLength = 10;
                o.Password.RequireNonAlphanumeric = false;
                o.Lockout.AllowedForNewUsers = true;
            })
            .AddEntityFrameworkStores<ZapHubDb>()
            .AddSignInManager()
            .AddClaimsPrincipalFactory<ZapHubClaimsFactory>();
        services.AddOptions<IdentityOptions>().Configure<IOptions<LockoutSettings>>((o, lockout) =>
        {
            o.Lockout.MaxFailedAccessAttempts = lockout.Value.MaxFailedAttempts;
            o.Lockout.DefaultLockoutTimeSpan = lockout.Value.Duration;
        });

        services.AddAuthentication(o =>
            {
                o.DefaultScheme = SmartScheme;
                o.DefaultChallengeScheme = SmartScheme;
                o.DefaultForbidScheme = SmartScheme;
            })
            .AddPolicyScheme(SmartScheme, "Cookie or API key", o => o.ForwardDefaultSelector = context =>
                context.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                    ? ApiKeyAuthenticationHandler.SchemeName
                    : IdentityConstants.ApplicationScheme)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
            .AddIdentityCookies();

        services.ConfigureApplicationCookie(o =>
        {
            o.Cookie.Name = ".zaphub.auth";
            o.Cookie.HttpOnly = true;
            // Strict keeps the cookie off every cross-site request; SameOriginGuard checks the API's unsafe calls on top.
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.LoginPath = "/login";
            o.AccessDeniedPath = "/";
            o.SlidingExpiration = true;
            o.ExpireTimeSpan = TimeSpan.FromHours(12);
            o.Events.OnRedirectToLogin = context => ApiAwareRedirect(context, StatusCodes.Status401Unauthorized);
            o.Events.OnRedirectToAccessDenied = context => ApiAwareRedirect(context, StatusCodes.Status403Forbidden);
        });
        services.Configure<SecurityStampValidatorOptions>(o =>
        {
            o.ValidationInterval = TimeSpan.FromMinutes(5);
            // A refreshed principal is rebuilt from the user row; keep the tenant the user switched to.
            o.OnRefreshingPrincipal = context =>
            {
                if (context.CurrentPrincipal?.FindFirst(ZapHubClaims.Tenant) is { } tenant)
                    context.NewPrincipal?.Identities.First().AddClaim(new Claim(ZapHubClaims.Tenant, tenant.Value));
                return Task.CompletedTask;
            };
        });
        return services;
    }

    private static async Task ApiAwareRedirect(Microsoft.AspNetCore.Authentication.RedirectContext<Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationOptions> context, int status)
    {
        if (!context.Request.Path.StartsWithSegments("/api"))
        {
            context.Response.Redirect(context.RedirectUri);
            return;
        }
        await ProblemResponses.WriteAsync(context.HttpContext, status, status == 401 ? "Authentication required." : "You may not do this.",
            status == 401 ? "Sign in, or send an API key as 'Authorization: Bearer zh_...'." : null);
    }
}

public sealed class ZapHubClaimsFactory(UserManager<User> users, IOptions<IdentityOptions> options)
    : UserClaimsPrincipalFactory<User>(users, options)
{
    protected override async Task<ClaimsIdentity> GenerateClaimsAsync(User user)
    {
        var identity = await base.GenerateClaimsAsync(user);
        if (user.IsOperator) identity.AddClaim(new Claim(ZapHubClaims.Operator, "true"));
        identity.AddClaim(new Claim(ZapHubClaims.ActorKind, nameof(ActorKind.User)));
        if (user.MustChangePassword) identity.AddClaim(new Claim(ZapHubClaims.MustChangePassword, "true"));
        return identity;
    }
}
