using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;

namespace ZapHub.IntegrationTests.Infrastructure;

/// <summary>
/// ZapHub as its own operating-system process (the built app), for what only a real process shows: being killed
/// with SIGKILL, or two nodes sharing one database.
/// </summary>
public sealed class ZapHubProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly List<string> output = [];

    private ZapHubProcess(Process process, Uri url) => (this.process, Url) = (process, url);

    public Uri Url { get; }

    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    public static async Task<ZapHubProcess> StartAsync(TestDatabase database, int port, params (string Key, string Value)[] settings)
    {
        var url = new Uri($"http://127.0.0.1:{port}");
        var started = new ZapHubProcess(Process.Start(StartInfo(database, url.ToString().TrimEnd('/'), settings))!, url);
        await started.WaitUntilReadyAsync();
        return started;
    }

    /// <summary>The built app on a test database, its output redirected; settings as "Section:Key" (or environment names).</summary>
    public static ProcessStartInfo StartInfo(TestDatabase database, string url, params (string Key, string Value)[] settings)
    {
        var app = AppPath();
        var info = new ProcessStartInfo("dotnet", [app, "--urls", url])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(app)!,
            Environment =
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Development",
                ["Storage__Provider"] = database.Provider,
                ["Storage__DataDirectory"] = database.DataDirectory,
                ["Storage__ConnectionString"] = database.ConnectionString ?? "",
                ["Bootstrap__OperatorEmail"] = ZapHubApp.OperatorEmail,
                ["Bootstrap__OperatorPassword"] = ZapHubApp.OperatorPassword,
                ["Demo__Enabled"] = "false",
                ["DataProtection__Certificate"] = TestDatabase.KeyCertificate,
                ["RateLimits__ApiPerSecond"] = "100000",
                ["RateLimits__LoginPerMinute"] = "10000",
                ["Logging__LogLevel__Default"] = "Warning",
                ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
            },
        };
        foreach (var (key, value) in settings) info.Environment[key.Replace(":", "__")] = value;
        return info;
    }

    private async Task WaitUntilReadyAsync()
    {
        var ready = new TaskCompletionSource();
        process.OutputDataReceived += (_, e) => Collect(e.Data, ready);
        process.ErrorDataReceived += (_, e) => Collect(e.Data, null);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var exited = process.WaitForExitAsync();
        var first = await Task.WhenAny(ready.Task, exited, Task.Delay(TimeSpan.FromSeconds(90)));
        if (first != ready.Task) throw new InvalidOperationException("ZapHub did not start:\n" + Output);
    }

    private void Collect(string? line, TaskCompletionSource? ready)
    {
        if (line is null) return;
        lock (output) output.Add(line);
        if (line.Contains("Application started")) ready?.TrySetResult();
    }

    public string Output
    {
        get { lock (output) return string.Join('\n', output); }
    }

    public int ProcessId => process.Id;

    /// <summary>SIGKILL: no shutdown code runs, exactly like a crash or the OOM killer.</summary>
    public async Task KillAsync()
    {
        if (process.HasExited) return;
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        process.Dispose();
    }

    /// <summary>Operator and tenant set-up through the public API, as an installer would do it.</summary>
    public async Task<HttpClient> SetUpTenantAsync(EmulatorHost emulator, object settings, params string[] moreScopes)
    {
        var op = Client();
        var login = await ZapHubApp.PostLoginAsync(op, ZapHubApp.OperatorEmail, ZapHubApp.OperatorPassword);
        if (login.StatusCode != HttpStatusCode.Redirect) throw new InvalidOperationException("Operator sign-in failed: " + login.StatusCode);
        await Http.ExpectAsync(await op.PostAsJsonAsync("/api/v1/admin/gateways",
            new { name = "emulator evolution", kind = "Evolution", baseUrl = emulator.BaseUrl("evolution"), credentials = EmulatorHost.EvolutionKey, capacity = 500 }), HttpStatusCode.Created);
        var slug = "t-" + Guid.NewGuid().ToString("N")[..10];
        var tenant = await Http.JsonAsync(await op.PostAsJsonAsync("/api/v1/admin/tenants",
            new { name = "Process test", slug, ownerEmail = $"owner@{slug}.test", maxSessions = 500 }), HttpStatusCode.Created);
        var owner = Client();
        var oneTimePassword = tenant.GetProperty("ownerOneTimePassword").GetString()!;
        await ZapHubApp.PostLoginAsync(owner, tenant.GetProperty("ownerEmail").GetString()!, oneTimePassword);
        await ZapHubApp.ReplaceOneTimePasswordAsync(owner, oneTimePassword, oneTimePassword);
        var key = await Http.JsonAsync(await owner.PostAsJsonAsync("/api/v1/api-keys", new { name = "system", scopes = new[] { "sessions:read", "sessions:control", "messages:send" }.Concat(moreScopes).ToArray() }), HttpStatusCode.Created);
        var api = Client(key.GetProperty("key").GetString());
        await Http.ExpectAsync(await api.PutAsJsonAsync("/api/v1/messaging/settings", settings), HttpStatusCode.OK);
        return api;
    }

    public HttpClient Client(string? apiKey = null)
    {
        var client = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() }) { BaseAddress = Url };
        if (apiKey is not null) client.DefaultRequestHeaders.Authorization = new("Bearer", apiKey);
        return client;
    }

    /// <summary>Adds and connects <paramref name="count"/> numbers (the emulator scans each); returns their ids.</summary>
    public static async Task<List<Guid>> ConnectNumbersAsync(HttpClient api, EmulatorHost emulator, int count)
    {
        var ids = new List<Guid>();
        for (var i = 0; i < count; i++)
        {
            var session = await Http.JsonAsync(await api.PostAsJsonAsync("/api/v1/sessions", new { displayName = $"Número {i}" }), HttpStatusCode.Created);
            var id = session.GetProperty("id").GetGuid();
            await Http.ExpectAsync(await api.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { }), HttpStatusCode.Accepted);
            await Eventually.WaitAsync(async () => await api.GetFromJsonAsync<JsonElement>($"/api/v1/sessions/{id}"), s => s.GetProperty("state").GetString() == "AwaitingScan", "a QR code");
            await Http.ExpectAsync(await emulator.ScanAsync("evolution", session.GetProperty("instanceName").GetString()!, $"55119{i:D4}0001"), HttpStatusCode.OK);
            await Eventually.WaitAsync(async () => await api.GetFromJsonAsync<JsonElement>($"/api/v1/sessions/{id}"), s => s.GetProperty("state").GetString() == "Connected", "the number to connect");
            ids.Add(id);
        }
        return ids;
    }

    /// <summary>The built app next to these tests (same configuration).</summary>
    public static string AppPath()
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        return Path.Combine(RepositoryRoot(), "src", "ZapHub", "bin", configuration, "net10.0", "ZapHub.dll");
    }

    public static string RepositoryRoot()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "ZapHub.sln"))) root = root.Parent;
        return root!.FullName;
    }
}
