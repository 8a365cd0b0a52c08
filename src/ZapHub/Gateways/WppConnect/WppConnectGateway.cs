using System.Net;
using System.Text.Json;
using ZapHub.Platform;

namespace ZapHub.Gateways.WppConnect;

/// <summary>
/// WPPConnect Server over HTTP. The server's secret key only mints per-session bcrypt tokens; each call then
/// carries its session's token as a Bearer header.
/// </summary>
public sealed class WppConnectGateway(GatewayHttp http, string baseUrl, string secretKey) : IGateway
{
    /// <summary>bcrypt reads only 72 bytes of session+secret; past that, tokens can be forged without the secret.</summary>
    public const int BcryptLimit = 72;

    public GatewayKind Kind => GatewayKind.WppConnect;

    public async Task<GatewayCheck> CheckAsync(CancellationToken ct)
    {
        var reply = await http.SendAsync(HttpMethod.Get, $"{Base}/api/{Uri.EscapeDataString(secretKey)}/show-all-sessions", null, null, false, ct);
        if (reply.Ok) return new GatewayCheck(true, Note.Of("check_ok", ("server", "WPPConnect Server")));
        return new GatewayCheck(false, reply.Status == HttpStatusCode.BadRequest ? Note.Of("check_key_refused") : Note.Of("check_http", ("status", (int)reply.Status), ("call", "show-all-sessions")));
    }

    public async Task<Provisioned> ProvisionAsync(GatewaySession session, CancellationToken ct)
    {
        var instanceName = session.InstanceName;
        if (System.Text.Encoding.UTF8.GetByteCount(instanceName + secretKey) > BcryptLimit)
            throw new GatewayException(GatewayFailure.Configuration, $"Session name plus secret key exceed bcrypt's {BcryptLimit} bytes; use a shorter secret key.");
        var reply = await http.SendAsync(HttpMethod.Post, $"{Base}/api/{Uri.EscapeDataString(instanceName)}/{Uri.EscapeDataString(secretKey)}/generate-token", null, null, false, ct);
        if (reply.Status == HttpStatusCode.BadRequest) throw new GatewayException(GatewayFailure.Auth, "WPPConnect refused the secret key.", 400);
        if (!reply.Ok) throw GatewayHttp.Classify(reply, "Generating the session token");
        return new Provisioned(JsonFields.Str(reply.Json(), "token") ?? throw new GatewayException(GatewayFailure.Permanent, "WPPConnect returned no token."));
    }

    public async Task<ConnectOutcome> ConnectAsync(GatewaySession session, string? pairingPhone, CancellationToken ct)
    {
        // The webhook travels in the start-session body; a session that is already starting ignores the body.
        var reply = await CallAsync(session, HttpMethod.Post, "start-session",
            new
            {
                webhook = session.CallbackUrl.ToString(), waitQrCode = false, phone = pairingPhone,
                // WPPConnect keeps the whole body in its token file (credentials included): see docs/operations.md.
                proxy = session.Proxy is { } p ? new { url = p.ToString(), username = p.Username, password = p.Password } : null,
            }, true, ct);
        if (!reply.Ok) throw Classify(reply, "Starting the session");
        var json = reply.Json();
        var status = JsonFields.Str(json, "status");
        var qr = JsonFields.Str(json, "qrcode");
        return new ConnectOutcome(status == "CONNECTED", JsonFields.Str(json, "urlcode"), qr, null);
    }

    public async Task<ObservedState> GetStateAsync(GatewaySession session, CancellationToken ct)
    {
        var reply = await CallAsync(session, HttpMethod.Get, "status-session", null, false, ct);
        if (!reply.Ok) throw Classify(reply, "Reading the state");
        var status = JsonFields.Str(reply.Json(), "status");
        // WPPConnect never forgets a session name: a lost session simply reads CLOSED.
        return new ObservedState(true, WppConnectMapping.Status("status-session", status));
    }

    /// <summary>
    /// show-all-sessions lists the names in the token store, not the sessions running nor their states (contract §1.3),
    /// and takes the secret in its URL: numbers are read one at a time instead.
    /// </summary>
    public Task<IReadOnlyDictionary<string, ObservedState>?> ListInstancesAsync(CancellationToken ct) => Task.FromResult<IReadOnlyDictionary<string, ObservedState>?>(null);

    /// <summary>
    /// logout-session unlinks a session with a live client. Without one (INITIALIZING, CLOSED) it answers 404 "Disconnected"
    /// and changes nothing, so a starting session is closed instead (contract §7).
    /// </summary>
    public async Task<StopResult> LogoutAsync(GatewaySession session, CancellationToken ct)
    {
        var reply = await CallAsync(session, HttpMethod.Post, "logout-session", null, true, ct);
        if (reply.Status == HttpStatusCode.NotFound && IsDisconnected(reply)) return await CloseAsync(session, ct);
        if (!reply.Ok) throw Classify(reply, "Logging out");
        await ConfirmClosedAsync(session, ct);
        return StopResult.KeptClean;
    }

    /// <summary>
    /// close-session ends a live page. A session still INITIALIZING has none: the server answers 500 and its Chromium goes on
    /// running with the profile locked, which no API call of 2.10.4 ends (a server restart does) and which makes every later
    /// start of that name fail. So the name is given up and the browser reported for the operator.
    /// </summary>
    public async Task<StopResult> CloseAsync(GatewaySession session, CancellationToken ct)
    {
        var status = await StatusAsync(session, ct);
        if (status is null or "CLOSED") return StopResult.KeptClean;
        var reply = await CallAsync(session, HttpMethod.Post, "close-session", null, true, ct);
        if (status == "INITIALIZING")
            return new StopResult(StopAftermath.NameBlocked, await GivenUpAsync(session, [new Leftover(session.InstanceName, Leftovers.LockedBrowser)], ct));
        if (!reply.Ok && (int)reply.Status != 500) throw Classify(reply, "Closing the session");
        await ConfirmClosedAsync(session, ct);
        return StopResult.KeptClean;
    }

    /// <summary>
    /// WPPConnect has no delete. A live session is logged out and closed, its browser profile cleared (clear-session-data).
    /// Its token file stays whatever ZapHub calls (2.10.4 builds that path without a separator), and the server's next
    /// start relaunches every stored session: reported for the operator when show-all-sessions still lists the name.
    /// </summary>
    public async Task<StopResult> DeleteAsync(GatewaySession session, CancellationToken ct)
    {
        if (await StatusAsync(session, ct) == "CONNECTED")
        {
            var logout = await CallAsync(session, HttpMethod.Post, "logout-session", null, true, ct);
            if (!logout.Ok && !IsDisconnected(logout)) throw Classify(logout, "Logging out");
        }
        var closed = await CloseAsync(session, ct);
        var clear = await http.SendAsync(HttpMethod.Post, $"{Base}/api/{Uri.EscapeDataString(session.InstanceName)}/{Uri.EscapeDataString(secretKey)}/clear-session-data", null, null, true, ct);
        if (!clear.Ok && clear.Status != HttpStatusCode.NotFound) throw Classify(clear, "Clearing the session data");
        return new StopResult(StopAftermath.Removed, closed.Aftermath == StopAftermath.NameBlocked ? closed.LeftBehind : await GivenUpAsync(session, [], ct));
    }

    /// <summary>What stays on the server under a name ZapHub no longer uses: its token file, which the next server start relaunches.</summary>
    private async Task<IReadOnlyList<Leftover>> GivenUpAsync(GatewaySession session, List<Leftover> known, CancellationToken ct)
    {
        if ((await StoredSessionsAsync(ct)).Contains(session.InstanceName)) known.Add(new Leftover(session.InstanceName, Leftovers.StoredSession));
        return known;
    }

    public async Task RestartAsync(GatewaySession session, CancellationToken ct)
    {
        var closed = await CloseAsync(session, ct);
        if (closed.Aftermath != StopAftermath.Kept)
            throw new GatewayException(GatewayFailure.NotConnected, "The session was still starting; connect it again instead of restarting.");
        await ConnectAsync(session, null, ct);
    }

    /// <summary>No webhook carries the phone of a QR login; host-device answers it for a connected session (as its WhatsApp id).</summary>
    public async Task<AccountInfo?> ReadAccountAsync(GatewaySession session, CancellationToken ct)
    {
        var reply = await CallAsync(session, HttpMethod.Get, "host-device", null, false, ct);
        if (!reply.Ok) return IsDisconnected(reply) ? null : throw Classify(reply, "Reading the linked phone");
        var device = reply.Json().TryGetProperty("response", out var r) ? r : default;
        var wid = JsonFields.Str(device, "phoneNumber") ?? (device.ValueKind == JsonValueKind.Object && device.TryGetProperty("wid", out var w) ? JsonFields.Str(w, "_serialized") : null);
        return new AccountInfo(Evolution.EvolutionMapping.PhoneFromJid(wid), JsonFields.Str(device, "pushname"));
    }

    private async Task<string?> StatusAsync(GatewaySession session, CancellationToken ct)
    {
        var reply = await CallAsync(session, HttpMethod.Get, "status-session", null, false, ct);
        return reply.Ok ? JsonFields.Str(reply.Json(), "status") : throw Classify(reply, "Reading the state");
    }

    private async Task ConfirmClosedAsync(GatewaySession session, CancellationToken ct)
    {
        var status = await StatusAsync(session, ct);
        if (status is not (null or "CLOSED"))
            throw new GatewayException(GatewayFailure.NotStopped, $"WPPConnect still reports the session as {status} after it was asked to stop.");
    }

    /// <summary>The token files the server would relaunch at its next start (show-all-sessions lists the token store).</summary>
    private async Task<HashSet<string>> StoredSessionsAsync(CancellationToken ct)
    {
        var reply = await http.SendAsync(HttpMethod.Get, $"{Base}/api/{Uri.EscapeDataString(secretKey)}/show-all-sessions", null, null, false, ct);
        if (!reply.Ok || !reply.Json().TryGetProperty("response", out var names) || names.ValueKind != JsonValueKind.Array) return [];
        return names.EnumerateArray().Where(n => n.ValueKind == JsonValueKind.String).Select(n => n.GetString()!).ToHashSet();
    }

    private static bool IsDisconnected(GatewayHttp.Reply reply) =>
        reply.Status == HttpStatusCode.NotFound && reply.Text.Contains("\"Disconnected\"", StringComparison.Ordinal);

    public async Task<SentRef> SendAsync(GatewaySession session, OutgoingMessage message, CancellationToken ct)
    {
        // WPPConnect has no typing delay on its send routes; waiting here keeps the pacing the tenant asked for.
        if (message.TypingDelay > TimeSpan.Zero) await Task.Delay(message.TypingDelay, ct);
        var reply = message.Media is { } media
            ? await CallAsync(session, HttpMethod.Post, "send-file", new
            {
                phone = message.ToDigits,
                isGroup = false,
                // A URL goes in "path" (the server downloads it); bytes go in "base64" as a data: URL, which WPPConnect requires.
                path = media.Url,
                base64 = media.Content is null ? null : $"data:{media.MimeType ?? "application/octet-stream"};base64,{Convert.ToBase64String(media.Content)}",
                filename = media.FileName ?? "file",
                caption = message.Text,
            }, true, ct)
            : await CallAsync(session, HttpMethod.Post, "send-message", new { phone = message.ToDigits, message = message.Text, isGroup = false }, true, ct);
        if (!reply.Ok) throw Classify(reply, "Sending the message");
        var json = reply.Json();
        if (json.ValueKind == JsonValueKind.Object && json.TryGetProperty("response", out var r) && r.ValueKind == JsonValueKind.Array && r.GetArrayLength() > 0
            && JsonFields.Str(r[0], "id") is { } id)
            return new SentRef(id);
        throw new GatewayException(GatewayFailure.Permanent, "WPPConnect accepted the message without returning its id.", 201);
    }

    public async Task<bool> IsOnWhatsAppAsync(GatewaySession session, string digits, CancellationToken ct)
    {
        var reply = await CallAsync(session, HttpMethod.Get, $"check-number-status/{Uri.EscapeDataString(digits)}", null, false, ct);
        if (!reply.Ok) throw Classify(reply, "Checking the number");
        var json = reply.Json();
        return json.TryGetProperty("response", out var r) && r.TryGetProperty("numberExists", out var e) && e.ValueKind == JsonValueKind.True;
    }

    private string Base => baseUrl.TrimEnd('/');

    private Task<GatewayHttp.Reply> CallAsync(GatewaySession session, HttpMethod method, string action, object? body, bool longCall, CancellationToken ct) =>
        http.SendAsync(method, $"{Base}/api/{Uri.EscapeDataString(session.InstanceName)}/{action}",
            r => r.Headers.TryAddWithoutValidation("Authorization", "Bearer " + session.ProviderToken), body, longCall, ct);

    /// <summary>WPPConnect's codes: 404 "Disconnected" from the connection middleware; 400 "não existe" for unknown numbers.</summary>
    private static GatewayException Classify(GatewayHttp.Reply reply, string what)
    {
        var text = reply.Text;
        if (IsDisconnected(reply))
            return new GatewayException(GatewayFailure.NotConnected, "The WhatsApp number is not connected on the gateway.", 404);
        if (reply.Status == HttpStatusCode.BadRequest && text.Contains("não existe", StringComparison.Ordinal))
            return new GatewayException(GatewayFailure.InvalidNumber, "The number is not on WhatsApp.", 400);
        return GatewayHttp.Classify(reply, what);
    }
}
