using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using ZapHub.Components;
using ZapHub.Data;
using ZapHub.Features.Accounts;
using ZapHub.Features.Admin;
using ZapHub.Features.Events;
using ZapHub.Features.GatewayWebhooks;
using ZapHub.Features.Messages;
using ZapHub.Features.Sessions;
using ZapHub.GatewayEmulator;
using ZapHub.Features.Tenancy;
using ZapHub.Platform;

var builder = WebApplication.CreateBuilder(args);
builder.AddPlatform();
builder.Services
    .AddData()
    .AddAccounts(builder.Configuration)
    .AddTenancy()
    .AddAdmin()
    .AddSessions()
    .AddGatewayWebhooks()
    .AddMessages()
    .AddEvents()
    .AddDashboard();
var demo = builder.Configuration.GetValue<bool>("Demo:Enabled");
if (demo) builder.Services.AddGatewayEmulator(builder.Configuration);

var app = builder.Build();

IReadOnlyList<string> firstLogins;
try
{
    switch (args)
    {
        case ["migrate", ..]:
            return await app.MigrateAsync();
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
app.UseAuthentication();
app.UseTenantResolution();
app.UseAuthorization();
app.UseRateLimiter();
app.UseAntiforgery();

app.MapPlatform();
app.MapAccounts();
app.MapTenancy();
app.MapAdmin();
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
