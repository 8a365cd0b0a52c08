using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using ZapHub.IntegrationTests.Infrastructure;

namespace ZapHub.IntegrationTests;

/// <summary>
/// The README's first command, as a newcomer runs it: the real app in its own process, embedded SQLite,
/// demo mode, one-time logins printed on the console.
/// </summary>
public sealed partial class FirstStartTests : IDisposable
{
    private readonly string dataDirectory = Path.Combine(Path.GetTempPath(), "zaphub-first-start", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        foreach (var directory in new[] { dataDirectory, dataDirectory + "-keys" })
            try { Directory.Delete(directory, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task FirstStartPrintsOneTimeLoginsThatWorkAndASecondStartPrintsNone()
    {
        var (url, output) = await StartAsync();
        var operatorLogin = LoginLine().Match(output.Single(l => l.Contains("Operator:")));
        var ownerLogin = LoginLine().Match(output.Single(l => l.Contains("Demo owner")));
        Assert.True(operatorLogin.Success && ownerLogin.Success, string.Join('\n', output));
        // The key ring's certificate was made beside the data folder, not in it, readable by its owner only.
        var certificate = Path.Combine(dataDirectory + "-keys", "key-encryption.pfx");
        Assert.True(File.Exists(certificate), string.Join('\n', output));
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(certificate));
        await StopAsync();

        (url, output) = await StartAsync();
        Assert.DoesNotContain(output, l => l.Contains("Operator:"));

        using var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() }) { BaseAddress = new Uri(url) };
        foreach (var login in new[] { operatorLogin, ownerLogin })
        {
            var response = await ZapHubApp.PostLoginAsync(client, login.Groups["email"].Value, login.Groups["password"].Value);
            Assert.Equal("/account/password", response.Headers.Location?.ToString());
            await ZapHubApp.ReplaceOneTimePasswordAsync(client, login.Groups["password"].Value, login.Groups["password"].Value);
        }
        var tenant = await Http.JsonAsync(await client.GetAsync("/api/v1/tenant"), HttpStatusCode.OK);
        Assert.Equal("demo", tenant.GetProperty("slug").GetString());
        await StopAsync();
    }

    private Process? process;

    private async Task<(string Url, List<string> Output)> StartAsync()
    {
        var info = new ProcessStartInfo("dotnet", [ZapHubProcess.AppPath(), "--urls", "http://127.0.0.1:0"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(ZapHubProcess.AppPath())!,
            Environment =
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Development",
                ["Storage__DataDirectory"] = dataDirectory,
                ["Logging__LogLevel__Default"] = "Information",
            },
        };
        process = Process.Start(info)!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        var output = new List<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        string? url = null;
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            output.Add(line);
            if (ListeningLine().Match(line) is { Success: true } m) url ??= m.Groups[1].Value;
            if (line.Contains("Application started")) break;
        }
        // The banner is printed once the server has started; give it the moment it takes.
        var drain = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
                lock (output) output.Add(line);
        });
        await Task.WhenAny(drain, Task.Delay(TimeSpan.FromSeconds(2)));
        Assert.True(url is not null, "ZapHub did not start:\n" + string.Join('\n', output));
        lock (output) return (url!, output.ToList());
    }

    private async Task StopAsync()
    {
        if (process is null) return;
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        process.Dispose();
        process = null;
    }

    [GeneratedRegex(@":\s+(?<email>\S+@\S+)\s+/\s+(?<password>\S+)\s*$")]
    private static partial Regex LoginLine();

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningLine();
}
