namespace ZapHub.Components;

public static class DashboardSetup
{
    public static IServiceCollection AddDashboard(this IServiceCollection services)
    {
        services.AddRazorComponents().AddInteractiveServerComponents();
        // Framing is decided once for every response (PlatformSetup: nowhere; a connect link's page: its tenant's
        // allowed origins), not by the antiforgery and Blazor defaults, which would add headers of their own.
        services.AddAntiforgery(o => o.SuppressXFrameOptionsHeader = true);
        services.AddCascadingAuthenticationState();
        services.AddSingleton<Text>();
        services.AddSingleton<Microsoft.Extensions.Localization.IStringLocalizer>(sp => sp.GetRequiredService<Text>());
        return services;
    }

    public static WebApplication MapDashboard(this WebApplication app)
    {
        app.MapStaticAssets();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode(o => o.ContentSecurityFrameAncestorsPolicy = null);
        return app;
    }
}
