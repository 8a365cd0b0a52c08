using System.Net;
using System.Text.RegularExpressions;

namespace ZapHub.Bench;

/// <summary>What every benchmark needs to drive ZapHub from outside: the repository, a free port, health, sign-in, percentiles.</summary>
public static class BenchSupport
{
    public static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ZapHub.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("Run from inside the repository.");
    }

    /// <summary>A key-encryption certificate for a Production-mode ZapHub, made by ZapHub's own command, in <paramref name="directory"/>.</summary>
    public static string KeyCertificate(string zapHubDll, string directory)
    {
        var path = Path.Combine(directory, "key-encryption.pfx");
        using var create = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("dotnet", [zapHubDll, "create-key-certificate", path]) { RedirectStandardOutput = true })!;
        create.StandardOutput.ReadToEnd();
        create.WaitForExit();
        if (create.ExitCode != 0) throw new InvalidOperationException("zaphub create-key-certificate failed");
        return path;
    }

    public static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>The p-th value of an ascending list (nearest rank), NaN when empty.</summary>
    public static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[(int)Math.Min(sorted.Count - 1, Math.Ceiling(p * sorted.Count) - 1)];

    public static async Task<bool> Healthy(HttpClient api)
    {
        try { return (await api.GetAsync("/health/ready")).IsSuccessStatusCode; } catch (HttpRequestException) { return false; }
    }

    /// <summary>Signs in through the login form, antiforgery token included; the client keeps the cookie.</summary>
    public static async Task SignInAsync(HttpClient api, string email, string password)
    {
        var html = await api.GetStringAsync("/login");
        var token = Regex.Match(html, "name=\"__RequestVerificationToken\"[^>]*?value=\"([^\"]+)\"").Groups[1].Value;
        var response = await api.PostAsync("/account/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = WebUtility.HtmlDecode(token), ["Email"] = email, ["Password"] = password,
        }));
        if (response.Headers.Location?.ToString().StartsWith("/login") != false)
            throw new InvalidOperationException($"sign-in of {email} failed: {(int)response.StatusCode} {response.Headers.Location}");
        if (response.Headers.Location?.ToString() != "/account/password") return;
        // A one-time password must be replaced before anything else; the benchmark keeps the same text.
        html = await api.GetStringAsync("/account/password");
        token = Regex.Match(html, "name=\"__RequestVerificationToken\"[^>]*?value=\"([^\"]+)\"").Groups[1].Value;
        var change = await api.PostAsync("/account/password", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = WebUtility.HtmlDecode(token), ["CurrentPassword"] = password, ["NewPassword"] = password, ["ConfirmPassword"] = password,
        }));
        if (change.Headers.Location?.ToString() != "/") throw new InvalidOperationException($"changing the one-time password of {email} failed: {(int)change.StatusCode}");
    }
}
