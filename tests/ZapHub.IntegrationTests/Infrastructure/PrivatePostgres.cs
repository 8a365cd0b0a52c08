using System.Diagnostics;

namespace ZapHub.IntegrationTests.Infrastructure;

/// <summary>
/// A PostgreSQL cluster of one test's own (scripts/test-postgres.sh on another port), so the test can stop and start
/// the server under ZapHub without touching the cluster every other test uses.
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private readonly int port;

    private PrivatePostgres(int port, string server) => (this.port, Server) = (port, server);

    /// <summary>The server's connection string (database "postgres").</summary>
    public string Server { get; }

    public static async Task<PrivatePostgres> StartAsync()
    {
        var output = await RunAsync(ZapHubProcess.FreePort(), "start");
        string Exported(string name) =>
            output.Split('\n').Single(l => l.StartsWith($"export {name}="))[$"export {name}=".Length..].Trim('\'');
        // The script moves to the next port when the one asked for was taken in the meantime.
        return new PrivatePostgres(int.Parse(Exported("ZAPHUB_TEST_PG_PORT")), Exported("ZAPHUB_TEST_POSTGRES"));
    }

    /// <summary>Stops the server (fast shutdown: every connection is cut), keeping its data.</summary>
    public Task PauseAsync() => RunAsync(port, "pause");

    public Task ResumeAsync() => RunAsync(port, "resume");

    public async ValueTask DisposeAsync() => await RunAsync(port, "stop");

    private static async Task<string> RunAsync(int port, string command)
    {
        var script = Path.Combine(ZapHubProcess.RepositoryRoot(), "scripts", "test-postgres.sh");
        var info = new ProcessStartInfo("bash", [script, command]) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment["ZAPHUB_TEST_PG_PORT"] = port.ToString();
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"test-postgres.sh {command} failed: {await stderr}");
        return await stdout;
    }
}
