using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using ZapHub.Data;
using ZapHub.Features.Admin;
using ZapHub.Features.Tenancy;
using ZapHub.Platform;

namespace ZapHub.Features.Accounts;

/// <summary>
/// First start: create the operator account and, in demo mode, a demo tenant with its owner. Their one-time
/// passwords go to the console (standard output), never to the log pipeline, and only when they are created.
/// </summary>
public static class Bootstrap
{
    public static async Task<IReadOnlyList<string>> SeedAsync(IServiceProvider services, CancellationToken ct = default)
    {
        await using var scope = services.CreateAsyncScope();
        var sp = scope.ServiceProvider;
        sp.GetRequiredService<TenantContext>().UsePlatformScope();
        var db = sp.GetRequiredService<ZapHubDb>();
        var users = sp.GetRequiredService<UserManager<User>>();
        var time = sp.GetRequiredService<TimeProvider>();
        var bootstrap = sp.GetRequiredService<IOptions<BootstrapOptions>>().Value;
        var demo = sp.GetRequiredService<IOptions<DemoOptions>>().Value;
        var lines = new List<string>();

        if (!await db.Users.AnyAsync(u => u.IsOperator, ct))
        {
            var generated = string.IsNullOrEmpty(bootstrap.OperatorPassword);
            var password = generated ? Passwords.Generate() : bootstrap.OperatorPassword!;
            var op = new User
            {
                UserName = bootstrap.OperatorEmail, Email = bootstrap.OperatorEmail, EmailConfirmed = true, IsOperator = true,
                MustChangePassword = generated, CreatedAt = time.UtcNow(),
            };
            var result = await users.CreateAsync(op, password);
            if (!result.Succeeded)
                throw new InvalidOperationException("Could not create the operator account: " + string.Join(" ", result.Errors.Select(e => e.Description)));
            lines.Add($"  Operator:  {op.Email}  /  {(generated ? password : "(the configured Bootstrap:OperatorPassword)")}");
        }

        if (demo.Enabled && !await db.Tenants.AnyAsync(t => t.Slug == demo.TenantSlug, ct))
        {
            var created = await sp.GetRequiredService<TenantAdminService>().CreateAsync(Actor.System,
                new TenantInput(demo.TenantName, demo.TenantSlug, null, null, null), demo.OwnerEmail, ct);
            lines.Add($"  Demo owner ({created.Tenant.Name}):  {created.OwnerEmail}  /  {created.OwnerOneTimePassword ?? "(existing account)"}");
        }

        if (demo.Enabled && !await db.Gateways.AnyAsync(ct))
        {
            // The emulator mounted in this app, for both protocols, so the whole journey works without WhatsApp.
            var emulator = sp.GetService<IOptions<ZapHub.GatewayEmulator.EmulatorOptions>>()?.Value ?? new ZapHub.GatewayEmulator.EmulatorOptions();
            var admin = sp.GetRequiredService<Gateways.GatewayAdmin>();
            await admin.CreateAsync(Actor.System, new Gateways.GatewayInput("Emulador Evolution", ZapHub.Gateways.GatewayKind.Evolution, "emulator://evolution", emulator.EvolutionApiKey, 100), ct);
            await admin.CreateAsync(Actor.System, new Gateways.GatewayInput("Emulador WPPConnect", ZapHub.Gateways.GatewayKind.WppConnect, "emulator://wppconnect", emulator.WppSecretKey, 100), ct);
            lines.Add("  Demo gateways: the built-in emulator (Evolution and WPPConnect); play the phone at /emulator/_emulator/");
        }
        return lines;
    }

    public static void Print(IReadOnlyList<string> lines, IEnumerable<string> urls)
    {
        if (lines.Count == 0) return;
        var url = urls.FirstOrDefault() ?? "http://localhost:5000";
        Console.WriteLine();
        Console.WriteLine("================================================================================");
        Console.WriteLine($"  ZapHub is ready at {url}");
        Console.WriteLine("  One-time logins (shown only now; you will be asked to choose a new password):");
        foreach (var line in lines) Console.WriteLine(line);
        Console.WriteLine("================================================================================");
        Console.WriteLine();
    }

    /// <summary><c>zaphub reset-password EMAIL</c>: a new one-time password for a lost login.</summary>
    public static async Task<int> ResetPasswordAsync(IServiceProvider services, string email)
    {
        await using var scope = services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<User>>();
        var user = await users.FindByEmailAsync(email);
        if (user is null)
        {
            Console.Error.WriteLine($"No account with e-mail {email}.");
            return 1;
        }
        var password = Passwords.Generate();
        await users.RemovePasswordAsync(user);
        await users.AddPasswordAsync(user, password);
        await users.SetLockoutEndDateAsync(user, null);
        user.MustChangePassword = true;
        await users.UpdateAsync(user);
        Console.WriteLine($"New one-time password for {email}: {password}");
        return 0;
    }
}
