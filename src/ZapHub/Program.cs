using ZapHub.Platform.Cluster;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using ZapHub.Components;
using ZapHub.Data;
using ZapHub.Features.Accounts;
using ZapHub.Features.Admin;
using ZapHub.Features.Backups;
using ZapHub.Features.ConnectLinks;
using ZapHub.Features.Events;
using ZapHub.Features.GatewayWebhooks;
using ZapHub.Features.Messages;
using ZapHub.Features.PlatformKeys;
using ZapHub.Features.Retention;
using ZapHub.Features.Sessions;
using ZapHub.GatewayEmulator;
using ZapHub.Features.Tenancy;
using ZapHub.Platform;
using ZapHub.Platform.Telemetry;

if (args is ["health", .. var healthArgs])
{
    // The container's health check: no curl in the runtime image, and no need to build the whole app for one GET.
    var url = healthArgs is [var given, ..] ? given : "http://127.0.0.1:8080/health/ready";
    using var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
    try { return (await probe.GetAsync(url)).IsSuccessStatusCode ? 0 : 1; }
    catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException) { return 1; }
}

var builder = WebApplication.CreateBuilder(args);
if (args is ["create-key-certificate", var certificatePath, ..])
{
    if (File.Exists(certificatePath))
    {
        // Never over a certificate in use: the key ring it encrypts would be lost with it.
        Console.Error.WriteLine($"{Path.GetFullPath(certificatePath)} exists already; choose another path (for a rotation, see docs/security.md).");
        return 1;
    }
    var certificate = KeyRingCertificates.Create(certificatePath, builder.Configuration[$"{KeyRingOptions.Section}:{nameof(KeyRingOptions.CertificatePassword)}"]);
    Console.WriteLine($"Created {Path.GetFullPath(certificatePath)} (thumbprint {certificate.Thumbprint}, readable by its owner only). " +
                      $"Set {KeyRingCertificates.CertificateSetting} to its path on every node.");
    return 0;
}

var demo = builder.Configuration.GetValue<bool>("Demo:Enabled");
WebApplication app;
IReadOnlyList<string> firstLogins;
try
{
    builder.AddPlatform();
    builder.AddTelemetry();
    builder.AddKeyRing();
    builder.Services
        .AddData()
        .AddCluster()
        .AddAccounts(builder.Configuration)
        .AddTenancy()
        .AddAdmin()
        .AddPlatformKeys()
        .AddConnectLinks()
        .AddSessions()
        .AddGatewayWebhooks()
        .AddMessages()
        .AddEvents()
        .AddRetention()
        .AddDashboard();
    if (demo) builder.Services.AddGatewayEmulator(builder.Configuration);

    app = builder.Build();
    switch (args)
    {
        case ["migrate", ..]:
            return await app.MigrateAsync();
        case ["backup", var backupFile, ..]:
            return await SqliteBackup.BackupAsync(app.Services, backupFile);
        case ["restore", var backupFile, ..]:
            return await SqliteBackup.RestoreAsync(app.Services, backupFile);
        case ["reset-password", var email, ..]:
            await app.PrepareDatabaseAsync();
            return await Bootstrap.ResetPasswordAsync(app.Services, email);
    }
    await app.PrepareDatabaseAsync();
    firstLogins = await Bootstrap.SeedAsync(app.Services);
}
catch (Exception ex) when (ex is Microsoft.Extensions.Options.OptionsValidationException or StartupException)
{
    Console.Error.WriteLine($"ZapHub cannot start: {ex.Message}");
    return 1;
}

app.UsePlatform();
app.UseConnectLinkFraming();
app.UseAuthentication();
app.UseSameOriginGuard();
app.UsePasswordChangeGate();
app.UseTenantResolution();
app.UseAuthorization();
app.UseRateLimiter();
app.UseAntiforgery();

app.MapPlatform();
app.MapTelemetry();
app.MapAccounts();
app.MapTenancy();
app.MapAdmin();
app.MapPlatformKeys();
app.MapConnectLinks();
app.MapGatewayWebhooks();
app.MapSessions();
app.MapMessages();
app.MapEvents();
if (demo) app.MapGatewayEmulator("/emulator");
app.MapDashboard();

app.Lifetime.ApplicationStarted.Register(() =>
    Bootstrap.Print(firstLogins, app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? []));

await app.RunAsync();
return 0;
