using ZapHub.GatewayEmulator.Evolution;
using ZapHub.GatewayEmulator.WppConnect;

namespace ZapHub.GatewayEmulator.Control;

public sealed record ScanRequest(string? Phone, string? ProfileName);
public sealed record PairRequest(string Code, string? Phone, string? ProfileName);
public sealed record InboundRequest(string From, string? PushName, string Text);
public sealed record AckRequest(string MessageId, string Status);
public sealed record InstanceFaultRequest(string? Mode);
public sealed record StormRequest(int Count);
public sealed record FaultsRequest(int? LatencyMs, int? AnswerDelayMs, int? FailNext, int? ResetNext, bool? PhoneOffline, bool? StallStarts, bool? ReconnectAfterDrop);

/// <summary>/_emulator: act as the phone and as the network. Not part of either gateway's contract.</summary>
public static class ControlRoutes
{
    public static void Map(RouteGroupBuilder g)
    {
        g.MapGet("/", (HttpContext http) => Results.Content(ControlPage.Html(http.Request.PathBase + http.Request.Path), "text/html; charset=utf-8"));

        g.MapGet("/instances", (EvolutionEmulator evo, WppConnectEmulator wpp) => Results.Ok(new
        {
            evolution = evo.All.Select(i => new { name = i.Name, state = i.State, count = i.Count, qrCode = i.QrCode, pairingCode = i.PairingCode, wuid = i.Wuid }),
            wppconnect = wpp.StoredSessions.Select(name => wpp.Find(name)).Where(s => s is not null)
                .Select(s => new { name = s!.Name, state = s.Status, qrCode = s.Urlcode, pairingCode = s.PhoneCode }),
        }));

        g.MapPost("/{provider}/{name}/scan", (string provider, string name, ScanRequest? body, EvolutionEmulator evo, WppConnectEmulator wpp) =>
        {
            var phone = body?.Phone ?? "55119" + Random.Shared.Next(10_000_000, 99_999_999);
            var profile = body?.ProfileName ?? "Cliente ZapHub";
            return Outcome(provider switch
            {
                "evolution" => evo.Find(name) is { } i && evo.Scan(i, phone, profile),
                "wppconnect" => wpp.Scan(name, phone, profile),
                _ => false,
            }, "scanned", "no QR code is waiting on that instance");
        });
        g.MapPost("/{provider}/{name}/pair", (string provider, string name, PairRequest body, EvolutionEmulator evo, WppConnectEmulator wpp) =>
        {
            var phone = body.Phone ?? "55119" + Random.Shared.Next(10_000_000, 99_999_999);
            var profile = body.ProfileName ?? "Cliente ZapHub";
            return Outcome(provider switch
            {
                "evolution" => evo.Find(name) is { } i && evo.Scan(i, phone, profile, body.Code),
                "wppconnect" => wpp.Scan(name, phone, profile, body.Code),
                _ => false,
            }, "paired", "no matching pairing code is waiting on that instance");
        });
        g.MapPost("/{provider}/{name}/unlink", (string provider, string name, EvolutionEmulator evo, WppConnectEmulator wpp) =>
            Outcome(provider switch
            {
                "evolution" => evo.Find(name) is { } i && evo.Unlink(i),
                "wppconnect" => wpp.Unlink(name),
                _ => false,
            }, "unlinked", "the instance is not connected"));
        g.MapPost("/{provider}/{name}/drop", (string provider, string name, EvolutionEmulator evo) =>
            Outcome(provider == "evolution" && evo.Find(name) is { } i && evo.Drop(i), "dropped", "the instance is not connected (drop is emulated for Evolution)"));
        g.MapPost("/{provider}/{name}/inbound", (string provider, string name, InboundRequest body, EvolutionEmulator evo, WppConnectEmulator wpp) =>
            Outcome(provider switch
            {
                "evolution" => evo.Find(name) is { } i && evo.Receive(i, body.From, body.PushName ?? "Cliente", body.Text),
                "wppconnect" => wpp.Receive(name, body.From, body.PushName ?? "Cliente", body.Text),
                _ => false,
            }, "received", "the instance is not connected"));
        g.MapPost("/{provider}/{name}/ack", (string provider, string name, AckRequest body, EvolutionEmulator evo, WppConnectEmulator wpp) =>
            Outcome(provider switch
            {
                "evolution" => evo.Find(name) is { } i && evo.AckSent(i, body.MessageId, body.Status == "read" ? "READ" : "DELIVERY_ACK"),
                "wppconnect" => wpp.AckSent(name, body.MessageId, body.Status == "read" ? 3 : 2),
                _ => false,
            }, "acknowledged", "unknown message, or the phone is offline"));

        g.MapGet("/{provider}/{name}", (string provider, string name, EvolutionEmulator evo, WppConnectEmulator wpp) => provider switch
        {
            "evolution" => evo.Find(name) is { } i
                ? Results.Ok(new { name, exists = true, state = i.State, hasSocket = i.HasSocket, looping = i.Looping, token = i.Token, webhook = i.WebhookUrl,
                    proxy = i.Proxy, proxyUsername = i.ProxyUsername, proxyPasswordGiven = i.ProxyPasswordGiven })
                : Results.Ok(new { name, exists = false, state = (string?)null, hasSocket = false, looping = false, token = (string?)null, webhook = (string?)null,
                    proxy = (string?)null, proxyUsername = (string?)null, proxyPasswordGiven = false }),
            "wppconnect" => Results.Ok(wpp.Inspect(name)),
            _ => Results.NotFound(),
        });
        g.MapPost("/{provider}/{name}/fault", (string provider, string name, InstanceFaultRequest body, EvolutionEmulator evo, WppConnectEmulator wpp) =>
        {
            if (body.Mode is { } mode && !InstanceFault.All.Contains(mode))
                return Results.BadRequest(new { error = $"mode must be one of {string.Join(", ", InstanceFault.All)}, or null to clear" });
            if (provider == "evolution") evo.SetFault(name, body.Mode);
            else if (provider == "wppconnect" && body.Mode != InstanceFault.Socketless) wpp.SetFault(name, body.Mode);
            else return Results.BadRequest(new { error = "that fault is not one this provider shows" });
            return Results.Ok(new { name, mode = body.Mode });
        });
        g.MapPost("/evolution/{name}/lose", (string name, EvolutionEmulator evo) =>
            Outcome(evo.Lose(name), "lost", "no such instance"));
        g.MapPost("/evolution/{name}/storm", async (string name, StormRequest body, EvolutionEmulator evo, CancellationToken ct) =>
            evo.Find(name) is { } i
                ? Results.Ok(new { posted = Math.Clamp(body.Count, 1, 100_000), answers = await evo.StormAsync(i, Math.Clamp(body.Count, 1, 100_000), ct) })
                : Results.Conflict(new { error = "no such instance" }));

        g.MapGet("/messages", (SentLog log, string? instance) => Results.Ok(log.All.Where(m => instance is null || m.Instance == instance)));
        g.MapGet("/stats", (SentLog log, WebhookPoster poster) => Results.Ok(new { sent = log.Count, webhooksDelivered = poster.Delivered, webhooksFailed = poster.Failed }));
        g.MapPost("/faults", (FaultsRequest body, Faults faults) =>
        {
            if (body.LatencyMs is { } ms) faults.Latency = TimeSpan.FromMilliseconds(Math.Clamp(ms, 0, 120_000));
            if (body.AnswerDelayMs is { } delay) faults.AnswerDelay = TimeSpan.FromMilliseconds(Math.Clamp(delay, 0, 120_000));
            if (body.FailNext is { } n) faults.FailNext = Math.Max(0, n);
            if (body.ResetNext is { } resets) faults.ResetNext = Math.Max(0, resets);
            if (body.PhoneOffline is { } offline) faults.PhoneOffline = offline;
            if (body.StallStarts is { } stall) faults.StallStarts = stall;
            if (body.ReconnectAfterDrop is { } reconnect) faults.ReconnectAfterDrop = reconnect;
            return Results.Ok(new { latencyMs = faults.Latency.TotalMilliseconds, answerDelayMs = faults.AnswerDelay.TotalMilliseconds, failNext = faults.FailNext, resetNext = faults.ResetNext, phoneOffline = faults.PhoneOffline, stallStarts = faults.StallStarts });
        });
        // keepData=true: a restart that keeps the servers' databases, token files and profiles; otherwise they lose everything.
        g.MapPost("/restart", (EvolutionEmulator evo, WppConnectEmulator wpp, SentLog log, Faults faults, InstanceFaults instanceFaults, bool? keepData) =>
        {
            if (keepData == true)
            {
                evo.RestartKeepingData();
                wpp.RestartKeepingData();
                return Results.Ok(new { restarted = true, keptData = true });
            }
            evo.Forget();
            wpp.Forget();
            instanceFaults.Clear();
            log.Clear();
            faults.Latency = TimeSpan.Zero;
            faults.AnswerDelay = TimeSpan.Zero;
            faults.FailNext = 0;
            faults.ResetNext = 0;
            faults.PhoneOffline = false;
            faults.StallStarts = false;
            faults.ReconnectAfterDrop = true;
            return Results.Ok(new { restarted = true });
        });
    }

    private static IResult Outcome(bool ok, string done, string why) =>
        ok ? Results.Ok(new { result = done }) : Results.Conflict(new { error = why });
}
