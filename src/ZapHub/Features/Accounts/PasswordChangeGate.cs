using ZapHub.Features.Tenancy;
using ZapHub.Platform;

namespace ZapHub.Features.Accounts;

/// <summary>
/// A one-time password opens one door: the form that replaces it. Until then every page redirects there and every
/// API call, the event stream and the dashboard's live circuit answer 403 with code <c>password_change_required</c>.
/// </summary>
public static class PasswordChangeGate
{
    public const string Code = "password_change_required";

    private static readonly string[] OpenPaths = ["/account/password", "/account/logout", "/account/login", "/login", "/culture", "/health"];

    public static IApplicationBuilder UsePasswordChangeGate(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            if (!context.User.HasClaim(ZapHubClaims.MustChangePassword, "true") || IsOpen(context.Request))
            {
                await next(context);
                return;
            }
            var request = context.Request;
            if (HttpMethods.IsGet(request.Method) && !request.Path.StartsWithSegments("/api") && !request.Path.StartsWithSegments("/_blazor"))
            {
                context.Response.Redirect("/account/password");
                return;
            }
            await ProblemResponses.WriteAsync(context, StatusCodes.Status403Forbidden, "Choose a new password first.",
                "This account signed in with a one-time password; change it at /account/password before using anything else.", Code);
        });

    /// <summary>The password form and what it needs to render: its own page, sign-out, language switch and static files.</summary>
    private static bool IsOpen(HttpRequest request) =>
        OpenPaths.Any(p => request.Path.StartsWithSegments(p))
        || (HttpMethods.IsGet(request.Method) && !request.Path.StartsWithSegments("/api") && !request.Path.StartsWithSegments("/_blazor")
            && (request.Path.StartsWithSegments("/_framework") || Path.HasExtension(request.Path.Value)));
}
