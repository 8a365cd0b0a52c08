using System.Diagnostics;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using ZapHub.Data;
using ZapHub.IntegrationTests.Infrastructure;

namespace ZapHub.IntegrationTests;

/// <summary>
/// The key ring that encrypts gateway credentials, session secrets and webhook secrets is itself encrypted with a
/// certificate kept outside the database: a copy of the database decrypts nothing, a rotation loses nothing, and an
/// install that cannot open its keys refuses to start instead of quietly making new ones.
/// </summary>
public class KeyRingTests
{
    private const string KeyRows = "SELECT \"Xml\" FROM \"DataProtectionKeys\"";

    [Fact]
    public async Task TheKeyRingIsStoredEncryptedAndTheDatabaseAloneHoldsNoCredentialInPlainText()
    {
        await using var emulator = await EmulatorHost.StartAsync();
        await using var app = new ZapHubApp().With("Webhooks:AllowPrivateTargets", "true");
        app.ServeOverKestrel();
        await app.RegisterEmulatorAsync(emulator);
        var t = await app.CreateTenantAsync();
        await t.ConnectedSessionAsync(emulator, "evolution", "Evolution");
        var (_, webhookSecret) = await t.CreateWebhookAsync("http://127.0.0.1:9/hooks/zaphub", "webhook.test");

        var keys = await app.Database.StringsAsync(KeyRows);
        Assert.NotEmpty(keys);
        Assert.All(keys, xml =>
        {
            Assert.Contains("encryptedSecret", xml);
            Assert.DoesNotContain("<value>", xml);
        });
        if (TestDatabase.IsPostgres || OperatingSystem.IsWindows()) return;

        // SQLite: the files themselves are the owner's alone and carry no secret ZapHub was given.
        var files = Directory.GetFiles(app.Database.DataDirectory, "zaphub.db*");
        foreach (var file in files) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(app.Database.DataDirectory));
        var bytes = files.SelectMany(File.ReadAllBytes).ToArray();
        foreach (var secret in new[] { EmulatorHost.EvolutionKey, EmulatorHost.WppSecret, webhookSecret })
            Assert.Equal(-1, bytes.AsSpan().IndexOf(System.Text.Encoding.UTF8.GetBytes(secret)));
    }

    [Fact]
    public async Task RotatingTheCertificateMovesEveryKeyIncludingAnOldPlainTextOneAndNothingStopsWorking()
    {
        var keyDirectory = Directory.CreateTempSubdirectory("zaphub-kek-");
        try
        {
            var next = Path.Combine(keyDirectory.FullName, "next.pfx");
            using var nextCertificate = KeyRingCertificates.Create(next);
            await using var emulator = await EmulatorHost.StartAsync();
            await using var first = new ZapHubApp();
            first.ServeOverKestrel();
            await first.RegisterEmulatorAsync(emulator);
            var t = await first.CreateTenantAsync();
            await t.ConnectedSessionAsync(emulator, "evolution", "Evolution", "Antes da troca");

            // An install from before the key ring was encrypted: a key stored in plain text, and data protected with it.
            var (plainKeyXml, protectedBefore) = PlainTextKey(keyDirectory.FullName);
            await first.Database.StringsAsync("INSERT INTO \"DataProtectionKeys\" (\"FriendlyName\", \"Xml\") VALUES (@name, @xml)",
                ("@name", "key-plain"), ("@xml", plainKeyXml));
            var plainMasterKey = System.Xml.Linq.XElement.Parse(plainKeyXml).Descendants().Single(e => e.Name.LocalName == "value").Value;

            // The operator rotates: the new certificate current, the old one listed as previous, on every node.
            await using (var rotated = new ZapHubApp(first).With("DataProtection:Certificate", next).With("DataProtection:PreviousCertificates:0", TestDatabase.KeyCertificate))
            {
                rotated.ServeOverKestrel();
                var keys = await rotated.Database.StringsAsync(KeyRows);
                var nextPublic = Convert.ToBase64String(nextCertificate.RawData);
                Assert.All(keys, xml => Assert.Contains(nextPublic, xml));
                Assert.DoesNotContain(keys, xml => xml.Contains(plainMasterKey));
                var protector = rotated.Services.GetRequiredService<IDataProtectionProvider>().CreateProtector("key-ring-test");
                Assert.Equal("protected before the upgrade", protector.Unprotect(protectedBefore));
            }

            // The old certificate can go: a node with only the new one reads every credential stored before.
            await using var after = new ZapHubApp(first).With("DataProtection:Certificate", next);
            after.ServeOverKestrel();
            var owner = await after.SignInAsync(t.OwnerEmail, t.OwnerPassword);
            var tenantOnNewNode = t with { App = after, Owner = owner };
            await tenantOnNewNode.ConnectedSessionAsync(emulator, "evolution", "Evolution", "Depois da troca", "5511999990002");

            // A node given neither certificate the keys are under refuses to start, naming what to add.
            var stranger = Path.Combine(keyDirectory.FullName, "stranger.pfx");
            KeyRingCertificates.Create(stranger).Dispose();
            var (code, output) = await RunToExitAsync(first.Database, ("DataProtection__Certificate", stranger));
            Assert.Equal(1, code);
            Assert.Contains("DataProtection:PreviousCertificates", output);
        }
        finally { keyDirectory.Delete(recursive: true); }
    }

    [Fact]
    public async Task OutsideDevelopmentZapHubRefusesToStartWithoutACertificateAndSaysWhichSetting()
    {
        await using var database = TestDatabase.Create();
        var (code, output) = await RunToExitAsync(database, ("ASPNETCORE_ENVIRONMENT", "Production"), ("DataProtection__Certificate", ""));
        Assert.Equal(1, code);
        Assert.Contains("DataProtection:Certificate is not set", output);

        var missing = Path.Combine(database.DataDirectory, "nowhere.pfx");
        (code, output) = await RunToExitAsync(database, ("ASPNETCORE_ENVIRONMENT", "Production"), ("DataProtection__Certificate", missing));
        Assert.Equal(1, code);
        Assert.Contains($"names {missing}, which does not exist", output);
    }

    /// <summary>A key as Data Protection stores it with no key encryption configured (what every earlier ZapHub did).</summary>
    private static (string Xml, string Protected) PlainTextKey(string directory)
    {
        var folder = Directory.CreateDirectory(Path.Combine(directory, "plain-ring"));
        var provider = DataProtectionProvider.Create(folder, b => b.SetApplicationName("ZapHub"));
        var protectedText = provider.CreateProtector("key-ring-test").Protect("protected before the upgrade");
        return (File.ReadAllText(folder.GetFiles("key-*.xml").Single().FullName), protectedText);
    }

    /// <summary>Starts the built app and waits for it to exit by itself; returns the exit code and everything it printed.</summary>
    private static async Task<(int Code, string Output)> RunToExitAsync(TestDatabase database, params (string Key, string Value)[] environment)
    {
        var info = ZapHubProcess.StartInfo(database, "http://127.0.0.1:0", environment);
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try { await process.WaitForExitAsync(timeout.Token); }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException("ZapHub kept running instead of refusing to start:\n" + await stdout);
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}
