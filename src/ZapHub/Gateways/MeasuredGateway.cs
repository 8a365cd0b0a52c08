using System.Diagnostics;
using ZapHub.Platform.Telemetry;

namespace ZapHub.Gateways;

/// <summary>Counts and times every call to a gateway, whichever provider answers it: outcome "ok" or the failure category.</summary>
public sealed class MeasuredGateway(IGateway inner, ZapHubMetrics metrics) : IGateway
{
    private readonly string provider = inner.Kind.ToString();

    public GatewayKind Kind => inner.Kind;

    public Task<GatewayCheck> CheckAsync(CancellationToken ct) => Measure("check", () => inner.CheckAsync(ct));
    public Task<Provisioned> ProvisionAsync(GatewaySession session, CancellationToken ct) => Measure("provision", () => inner.ProvisionAsync(session, ct));
    public Task<ConnectOutcome> ConnectAsync(GatewaySession session, string? pairingPhone, CancellationToken ct) => Measure("connect", () => inner.ConnectAsync(session, pairingPhone, ct));
    public Task<ObservedState> GetStateAsync(GatewaySession session, CancellationToken ct) => Measure("state", () => inner.GetStateAsync(session, ct));
    public Task<IReadOnlyDictionary<string, ObservedState>?> ListInstancesAsync(CancellationToken ct) => Measure("list", () => inner.ListInstancesAsync(ct));
    public Task<StopResult> LogoutAsync(GatewaySession session, CancellationToken ct) => Measure("logout", () => inner.LogoutAsync(session, ct));
    public Task<StopResult> CloseAsync(GatewaySession session, CancellationToken ct) => Measure("close", () => inner.CloseAsync(session, ct));
    public Task<StopResult> DeleteAsync(GatewaySession session, CancellationToken ct) => Measure("delete", () => inner.DeleteAsync(session, ct));
    public Task RestartAsync(GatewaySession session, CancellationToken ct) => Measure("restart", async () => { await inner.RestartAsync(session, ct); return true; });
    public Task<AccountInfo?> ReadAccountAsync(GatewaySession session, CancellationToken ct) => Measure("read_account", () => inner.ReadAccountAsync(session, ct));
    public Task<SentRef> SendAsync(GatewaySession session, OutgoingMessage message, CancellationToken ct) => Measure("send", () => inner.SendAsync(session, message, ct));
    public Task<bool> IsOnWhatsAppAsync(GatewaySession session, string digits, CancellationToken ct) => Measure("is_on_whatsapp", () => inner.IsOnWhatsAppAsync(session, digits, ct));

    private async Task<T> Measure<T>(string operation, Func<Task<T>> call)
    {
        var started = Stopwatch.GetTimestamp();
        var outcome = "error";
        try
        {
            var result = await call();
            outcome = "ok";
            return result;
        }
        catch (GatewayException ex)
        {
            outcome = System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(ex.Failure.ToString());
            throw;
        }
        catch (OperationCanceledException)
        {
            outcome = "canceled";
            throw;
        }
        finally
        {
            metrics.GatewayCall(provider, operation, outcome, Stopwatch.GetElapsedTime(started));
        }
    }
}
