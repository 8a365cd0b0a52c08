using System.Net;
using System.Text.Json;
using ZapHub.Platform;

namespace ZapHub.Gateways.Evolution;

/// <summary>Evolution API v2 over HTTP. Auth is the global key in an `apikey` header.</summary>
public sealed class EvolutionGateway(GatewayHttp http, string baseUrl, string apiKey) : IGateway
{
    /// <summary>The events ZapHub needs; an empty list would mean "all", which floods the receiver.</summary>
    private static readonly string[] Events =
        ["QRCODE_UPDATED", "CONNECTION_UPDATE", "MESSAGES_UPSERT", "MESSAGES_UPDATE", "LOGOUT_INSTANCE", "STATUS_INSTANCE", "INSTANCE_DELETE", "REMOVE_INSTANCE"];

    public GatewayKind Kind => GatewayKind.Evolution;

    /// <summary>
    /// verify-creds answers 200 to the global key only; fetchInstances also answers an instance token (with just its
    /// instance), which cannot create instances, so it proves nothing on its own (contract §2).
    /// </summary>
    public async Task<GatewayCheck> CheckAsync(CancellationToken ct)
    {
        var verify = await CallAsync(HttpMethod.Post, "/verify-creds", null, false, ct);
        if (verify.Status == HttpStatusCode.Unauthorized)
        {
            var asToken = await CallAsync(HttpMethod.Get, "/instance/fetchInstances", null, false, ct);
            return new GatewayCheck(false, asToken.Ok ? Note.Of("check_not_global_key", ("setting", "AUTHENTICATION_API_KEY")) : Note.Of("check_key_refused"));
        }
        if (!verify.Ok) return new GatewayCheck(false, Note.Of("check_http", ("status", (int)verify.Status), ("call", "verify-creds")));
        var instances = await CallAsync(HttpMethod.Get, "/instance/fetchInstances", null, false, ct);
        return instances.Ok && instances.Json() is { ValueKind: JsonValueKind.Array } rows
            ? new GatewayCheck(true, Note.Of("check_ok_instances", ("server", "Evolution API"), ("instances", rows.GetArrayLength())))
            : new GatewayCheck(false, Note.Of("check_http", ("status", (int)instances.Status), ("call", "fetchInstances")));
    }

    public async Task<Provisioned> ProvisionAsync(GatewaySession session, CancellationToken ct)
    {
        // `webhook.events` must be present: without it Evolution 2.3.6 crashes and deletes the half-made instance.
        // A proxy is tested by Evolution with an outbound request; one that does not answer is a 400 "Invalid proxy".
        var proxy = session.Proxy;
        var reply = await CallAsync(HttpMethod.Post, "/instance/create", new
        {
            instanceName = session.InstanceName,
            integration = "WHATSAPP-BAILEYS",
            qrcode = false,
            webhook = new { url = session.CallbackUrl.ToString(), byEvents = false, base64 = false, events = Events },
            proxyHost = proxy?.Host,
            proxyPort = proxy?.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            proxyProtocol = proxy?.Protocol,
            proxyUsername = proxy?.Username,
            proxyPassword = proxy?.Password,
        }, true, ct);
        if (reply.Status == HttpStatusCode.Forbidden)
        {
            // The name exists already (a retry after a lost answer, or the number's proxy changed): make sure its
            // webhook points at us and it uses the number's proxy.
            await SetWebhookAsync(session.InstanceName, session.CallbackUrl, ct);
            if (proxy is not null) await SetProxyAsync(session.InstanceName, proxy, ct);
            return new Provisioned(null);
        }
        if (!reply.Ok) throw GatewayHttp.Classify(reply, "Creating the Evolution instance");
        return new Provisioned(JsonFields.Str(reply.Json(), "hash"));
    }

    private async Task SetProxyAsync(string instanceName, GatewayProxy proxy, CancellationToken ct)
    {
        var reply = await CallAsync(HttpMethod.Post, $"/proxy/set/{Uri.EscapeDataString(instanceName)}", new
        {
            enabled = true, host = proxy.Host, port = proxy.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), protocol = proxy.Protocol,
            username = proxy.Username, password = proxy.Password,
        }, false, ct);
        if (!reply.Ok) throw GatewayHttp.Classify(reply, "Setting the instance's proxy");
    }

    private async Task SetWebhookAsync(string instanceName, Uri callbackUrl, CancellationToken ct)
    {
        var reply = await CallAsync(HttpMethod.Post, $"/webhook/set/{Uri.EscapeDataString(instanceName)}", new
        {
            webhook = new { enabled = true, url = callbackUrl.ToString(), byEvents = false, base64 = false, events = Events },
        }, false, ct);
        if (!reply.Ok) throw GatewayHttp.Classify(reply, "Configuring the Evolution webhook");
    }

    public async Task<ConnectOutcome> ConnectAsync(GatewaySession session, string? pairingPhone, CancellationToken ct)
    {
        var query = pairingPhone is null ? "" : "?number=" + Uri.EscapeDataString(pairingPhone);
        var reply = await CallAsync(HttpMethod.Get, $"/instance/connect/{Name(session)}{query}", null, true, ct);
        if (!reply.Ok) throw Classify(reply, "Connecting");
        var json = reply.Json();
        if (json.ValueKind == JsonValueKind.Object && json.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.True)
            throw new GatewayException(GatewayFailure.Transient, "Evolution could not start the connection: " + JsonFields.Str(json, "message"), 200);
        if (json.ValueKind == JsonValueKind.Object && json.TryGetProperty("instance", out var instance))
            return new ConnectOutcome(JsonFields.Str(instance, "state") == "open", null, null, null);
        return new ConnectOutcome(false, JsonFields.Str(json, "code"), JsonFields.Str(json, "base64"), JsonFields.Str(json, "pairingCode"));
    }

    /// <summary>
    /// The state from the instance's database row (fetchInstances, which also names the phone). The row's status is written
    /// on each QR, on open and on a final close only (contract §2): while it says "connecting" it cannot tell a running
    /// attempt from one that ran out of codes and closed its socket, so Baileys' own state (connectionState) is read then.
    /// </summary>
    public async Task<ObservedState> GetStateAsync(GatewaySession session, CancellationToken ct)
    {
        var reply = await CallAsync(HttpMethod.Get, $"/instance/fetchInstances?instanceName={Name(session)}", null, false, ct);
        if (reply.Status == HttpStatusCode.NotFound) return new ObservedState(false, null);
        if (!reply.Ok) throw Classify(reply, "Reading the state");
        var rows = reply.Json();
        if (rows.ValueKind != JsonValueKind.Array || rows.GetArrayLength() == 0) return new ObservedState(false, null);
        // The row is written on some transitions only: it keeps "connecting" after the QR limit ended the attempt, and "open"
        // after the server lost the socket (a restart that did not reconnect the instance, whose sends then fail). Baileys'
        // own state decides those two; a "close" row is final and carries the reason.
        if (JsonFields.Str(rows[0], "connectionStatus") is not ("open" or "connecting")) return Observed(rows[0]);
        return await LiveStateAsync(session, "Reading the state", ct) is { } live ? Observed(rows[0], live) : new ObservedState(false, null);
    }

    /// <summary>Baileys' state of the instance (close, connecting, open); null when the instance does not exist.</summary>
    private async Task<string?> LiveStateAsync(GatewaySession session, string doing, CancellationToken ct)
    {
        var reply = await CallAsync(HttpMethod.Get, $"/instance/connectionState/{Name(session)}", null, false, ct);
        if (reply.Status == HttpStatusCode.NotFound) return null;
        if (!reply.Ok) throw Classify(reply, doing);
        return JsonFields.Str(reply.Json().TryGetProperty("instance", out var i) ? i : default, "state") ?? "close";
    }

    /// <summary>fetchInstances without a name, with the global key, lists every instance of the server (its database's view, contract §2).</summary>
    public async Task<IReadOnlyDictionary<string, ObservedState>?> ListInstancesAsync(CancellationToken ct)
    {
        var reply = await CallAsync(HttpMethod.Get, "/instance/fetchInstances", null, false, ct);
        if (!reply.Ok) throw Classify(reply, "Listing the instances");
        var rows = reply.Json();
        if (rows.ValueKind != JsonValueKind.Array) throw new GatewayException(GatewayFailure.Transient, "fetchInstances did not answer a list");
        var all = new Dictionary<string, ObservedState>(StringComparer.Ordinal);
        foreach (var row in rows.EnumerateArray())
            if (JsonFields.Str(row, "name") is { } name) all[name] = Observed(row);
        return all;
    }

    /// <summary>A fetchInstances row; <paramref name="live"/> is connectionState's answer, which replaces the row's status when read.</summary>
    private static ObservedState Observed(JsonElement row, string? live = null)
    {
        var status = live ?? JsonFields.Str(row, "connectionStatus") ?? "close";
        var reason = live is null ? (int?)JsonFields.Int(row, "disconnectionReasonCode") : null;
        return new ObservedState(true, EvolutionMapping.Connection(live is null ? "fetchInstances" : "connectionState", status, reason, JsonFields.Str(row, "ownerJid"), JsonFields.Str(row, "profileName")));
    }

    /// <summary>
    /// Logout unlinks a logged-in instance and keeps it. An instance that is not logged in answers 400 "not connected"
    /// and may still be re-creating its socket without end (WhatsApp unreachable): only deleting it stops that, so it is
    /// deleted and the next connect creates it again (contract §2).
    /// </summary>
    public async Task<StopResult> LogoutAsync(GatewaySession session, CancellationToken ct)
    {
        var reply = await CallAsync(HttpMethod.Delete, $"/instance/logout/{Name(session)}", null, true, ct);
        if (reply.Status == HttpStatusCode.NotFound) return StopResult.RemovedClean;
        if (reply.Status == HttpStatusCode.BadRequest && reply.Text.Contains("is not connected", StringComparison.Ordinal)) return await DeleteAsync(session, ct);
        if (!reply.Ok) throw Classify(reply, "Logging out");
        await ConfirmAsync(session, state => state is "close" or null, ct);
        return StopResult.KeptClean;
    }

    /// <summary>Evolution has no "close without logout": logging out ends the attempt.</summary>
    public Task<StopResult> CloseAsync(GatewaySession session, CancellationToken ct) => LogoutAsync(session, ct);

    public async Task<StopResult> DeleteAsync(GatewaySession session, CancellationToken ct)
    {
        var reply = await CallAsync(HttpMethod.Delete, $"/instance/delete/{Name(session)}", null, true, ct);
        if (!reply.Ok && reply.Status != HttpStatusCode.NotFound) throw Classify(reply, "Deleting the instance");
        await ConfirmAsync(session, state => state is null, ct);
        return StopResult.RemovedClean;
    }

    /// <summary>Reads the instance back until it shows the stop (null: it no longer exists); the server applies some of it asynchronously.</summary>
    private async Task ConfirmAsync(GatewaySession session, Func<string?, bool> stopped, CancellationToken ct)
    {
        string? state = null;
        for (var read = 0; read < 10; read++)
        {
            state = await LiveStateAsync(session, "Reading the state after the stop", ct);
            if (stopped(state)) return;
            await Task.Delay(TimeSpan.FromMilliseconds(300), ct);
        }
        throw new GatewayException(GatewayFailure.NotStopped, $"Evolution still reports the instance as '{state}' after it was asked to stop.");
    }

    public async Task<AccountInfo?> ReadAccountAsync(GatewaySession session, CancellationToken ct)
    {
        var reply = await CallAsync(HttpMethod.Get, $"/instance/fetchInstances?instanceName={Name(session)}", null, false, ct);
        if (!reply.Ok || reply.Json() is not { ValueKind: JsonValueKind.Array } rows || rows.GetArrayLength() == 0) return null;
        return new AccountInfo(EvolutionMapping.PhoneFromJid(JsonFields.Str(rows[0], "ownerJid")), JsonFields.Str(rows[0], "profileName"));
    }

    public async Task RestartAsync(GatewaySession session, CancellationToken ct)
    {
        var reply = await CallAsync(HttpMethod.Post, $"/instance/restart/{Name(session)}", null, true, ct);
        if (!reply.Ok) throw Classify(reply, "Restarting");
        // Quirk: a closed instance answers 200 {"error":true,"message":"[object Object]"}; there is nothing to restart.
        var json = reply.Json();
        if (json.ValueKind == JsonValueKind.Object && json.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.True)
            throw new GatewayException(GatewayFailure.NotConnected, "The instance is not connected; connect it instead of restarting.", 200);
    }

    public async Task<SentRef> SendAsync(GatewaySession session, OutgoingMessage message, CancellationToken ct)
    {
        int? delay = message.TypingDelay > TimeSpan.Zero ? (int)message.TypingDelay.TotalMilliseconds : null;
        var reply = message.Media is { } media
            ? await CallAsync(HttpMethod.Post, $"/message/sendMedia/{Name(session)}", new
            {
                number = message.ToDigits,
                mediatype = media.Kind,
                // Raw base64, not a data: URL, which Evolution refuses.
                media = media.Url ?? Convert.ToBase64String(media.Content!),
                mimetype = media.MimeType,
                fileName = media.FileName,
                caption = message.Text,
                delay,
            }, true, ct)
            : await CallAsync(HttpMethod.Post, $"/message/sendText/{Name(session)}", new { number = message.ToDigits, text = message.Text, delay }, true, ct);
        if (!reply.Ok) throw Classify(reply, "Sending the message");
        var json = reply.Json();
        var id = json.ValueKind == JsonValueKind.Object && json.TryGetProperty("key", out var key) ? JsonFields.Str(key, "id") : null;
        return new SentRef(id ?? throw new GatewayException(GatewayFailure.Permanent, "Evolution accepted the message without returning its id.", 201));
    }

    public async Task<bool> IsOnWhatsAppAsync(GatewaySession session, string digits, CancellationToken ct)
    {
        var reply = await CallAsync(HttpMethod.Post, $"/chat/whatsappNumbers/{Name(session)}", new { numbers = new[] { digits } }, false, ct);
        if (!reply.Ok) throw Classify(reply, "Checking the number");
        var json = reply.Json();
        return json.ValueKind == JsonValueKind.Array && json.EnumerateArray().Any(r => r.TryGetProperty("exists", out var x) && x.ValueKind == JsonValueKind.True);
    }

    private Task<GatewayHttp.Reply> CallAsync(HttpMethod method, string path, object? body, bool longCall, CancellationToken ct) =>
        http.SendAsync(method, baseUrl.TrimEnd('/') + path, r => r.Headers.Add("apikey", apiKey), body, longCall, ct);

    private static string Name(GatewaySession s) => Uri.EscapeDataString(s.InstanceName);

    /// <summary>
    /// Evolution's ambiguous codes: a 500 "Connection Closed", or the TypeError of an instance without a socket
    /// ("reading 'onWhatsApp'"), means not connected, not "try again shortly"; 400 with exists:false means an unknown number.
    /// </summary>
    private static GatewayException Classify(GatewayHttp.Reply reply, string what)
    {
        var text = reply.Text;
        if ((int)reply.Status == 500 && (text.Contains("Connection Closed", StringComparison.Ordinal) || text.Contains("reading 'onWhatsApp'", StringComparison.Ordinal)))
            return new GatewayException(GatewayFailure.NotConnected, "The WhatsApp number is not connected on the gateway.", 500);
        if (reply.Status == HttpStatusCode.BadRequest && text.Contains("\"exists\":false", StringComparison.Ordinal))
            return new GatewayException(GatewayFailure.InvalidNumber, "The number is not on WhatsApp.", 400);
        if (reply.Status == HttpStatusCode.BadRequest && text.Contains("is not connected", StringComparison.Ordinal))
            return new GatewayException(GatewayFailure.NotConnected, "The WhatsApp number is not connected on the gateway.", 400);
        return GatewayHttp.Classify(reply, what);
    }
}
