namespace ZapHub.Platform.Cluster;

public static class ClusterSetup
{
    public static IServiceCollection AddCluster(this IServiceCollection services)
    {
        services.AddOptions<ClusterOptions>().BindConfiguration(ClusterOptions.Section)
            .Validate(o => o.RenewInterval > TimeSpan.Zero && o.LeaseDuration >= 2 * o.RenewInterval, "Cluster:LeaseDuration must be at least twice Cluster:RenewInterval.")
            .ValidateOnStart();
        services.AddSingleton<NodeIdentity>();
        services.AddSingleton<PartitionLeases>();
        services.AddHostedService(sp => sp.GetRequiredService<PartitionLeases>());
        return services;
    }
}
