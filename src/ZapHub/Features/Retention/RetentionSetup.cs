namespace ZapHub.Features.Retention;

public static class RetentionSetup
{
    public static IServiceCollection AddRetention(this IServiceCollection services)
    {
        services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.Section).ValidateDataAnnotations()
            .Validate(o => o.Interval >= TimeSpan.FromSeconds(1) && o.Interval <= TimeSpan.FromDays(40), "Retention:Interval must be between 1 second and 40 days.")
            .Validate(o => new[] { o.Messages, o.SessionEvents, o.Audit, o.GatewayEvents, o.Events, o.Deliveries }.All(w => w >= TimeSpan.FromHours(1)),
                "Every Retention window must be at least an hour.")
            .ValidateOnStart();
        services.AddSingleton<RetentionSweeper>();
        services.AddHostedService(sp => sp.GetRequiredService<RetentionSweeper>());
        return services;
    }
}
