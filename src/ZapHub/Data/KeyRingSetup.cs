using Microsoft.AspNetCore.DataProtection;

namespace ZapHub.Data;

public static class KeyRingSetup
{
    /// <summary>
    /// Keys live in the database so every node (and every restart) can read what another protected; each key is
    /// encrypted there with a certificate that lives outside it. Loaded while the app is built, because Data
    /// Protection takes its certificates as instances; a missing or unreadable one is a <see cref="Platform.StartupException"/>.
    /// </summary>
    public static WebApplicationBuilder AddKeyRing(this WebApplicationBuilder builder)
    {
        var options = builder.Configuration.GetSection(KeyRingOptions.Section).Get<KeyRingOptions>() ?? new();
        var storage = builder.Configuration.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new();
        var certificates = KeyRingCertificates.Load(options, storage, builder.Environment);
        builder.Services.AddSingleton(certificates);
        builder.Services.AddDataProtection()
            .PersistKeysToDbContext<ZapHubDb>()
            .SetApplicationName("ZapHub")
            .ProtectKeysWithCertificate(certificates.Current)
            .UnprotectKeysWithAnyCertificate([.. certificates.All]);
        return builder;
    }
}
