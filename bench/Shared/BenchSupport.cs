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
    }
}
