using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace ZapHub.GatewayEmulator.WppConnect;

public sealed class WppSession
{
    public required string Name { get; init; }

    /// <summary>INITIALIZING | QRCODE | PHONECODE | CONNECTED | CLOSED, or null right after close-session.</summary>
    public string? Status { get; set; }
    public string? Webhook { get; set; }

    /// <summary>The start body's proxy.url and proxy.username (kept, like the whole body, in the token file).</summary>
    public string? Proxy { get; set; }
    public string? ProxyUsername { get; set; }
    public string? Phone { get; set; }
    public string? PhoneCode { get; set; }
    public string? Urlcode { get; set; }
    public string? QrBase64 { get; set; }
    public ITimer? QrTimer { get; set; }
    public ITimer? AutoCloseTimer { get; set; }
    public TaskCompletionSource<IResult>? WaitingForQr { get; set; }
    public object Sync { get; } = new();
}

/// <summary>A logged-in phone survives close-session (the Chromium profile keeps it), like userDataDir.</summary>
public sealed record WppLogin(string Wid, string ProfileName);

/// <summary>
/// WPPConnect Server 2.10.4 as documented in shared/contracts/wppconnect-server.md. Sessions live in memory;
/// "the browser" is a state machine driven by timers and the control surface.
/// </summary>
public sealed class WppConnectEmulator(IOptions<EmulatorOptions> options, WebhookPoster webhooks, TimeProvider time, SentLog sent, Faults faults, InstanceFaults instanceFaults)
{
    public const string Version = "2.10.4";
    public const string Provider = "wppconnect";

    /// <summary>The Chromium of each session name that has one; true when it is locked (no API call of 2.10.4 ends it).</summary>
    private readonly ConcurrentDictionary<string, bool> browsers = new();
    private readonly ConcurrentDictionary<string, WppSession> sessions = new();
    private readonly ConcurrentDictionary<string, WppLogin> logins = new();
    private readonly ConcurrentDictionary<string, WppSession> configs = new();
    private readonly ConcurrentDictionary<string, string> verifiedTokens = new();
    private EmulatorOptions Options => options.Value;

    public WppSession? Find(string name) => sessions.GetValueOrDefault(name);
    public IReadOnlyCollection<string> StoredSessions => configs.Keys.ToList();

    public void Forget()
    {
        foreach (var s in sessions.Values) { s.QrTimer?.Dispose(); s.AutoCloseTimer?.Dispose(); }
        sessions.Clear();
        logins.Clear();
        configs.Clear();
        browsers.Clear();
    }

    /// <summary>
    /// A server restart: every browser ends (locked ones too), then startAllSession (the default) launches every session
    /// whose token file is stored, deleted ones included, and they post to the webhook their file names.
    /// </summary>
    public void RestartKeepingData()
    {
        foreach (var s in sessions.Values) { s.QrTimer?.Dispose(); s.AutoCloseTimer?.Dispose(); }
        sessions.Clear();
        browsers.Clear();
        foreach (var config in configs.Values)
        {
            var session = new WppSession { Name = config.Name, Status = "INITIALIZING", Webhook = config.Webhook, Phone = config.Phone };
            sessions[config.Name] = session;
            browsers[config.Name] = false;
            _ = Task.Run(() => BeginLogin(session));
        }
    }

    /// <summary>What the server keeps for a session name: its live status, its browser, its token file and its profile.</summary>
    public object Inspect(string name) => new
    {
        name,
        status = Find(name)?.Status,
        browserRunning = browsers.ContainsKey(name),
        browserLocked = browsers.TryGetValue(name, out var locked) && locked,
        tokenStored = configs.ContainsKey(name),
        // What a client was given for this name, for tests that check nobody repeats it: the webhook URL and the tokens used.
        webhook = configs.GetValueOrDefault(name)?.Webhook ?? Find(name)?.Webhook,
        tokensUsed = verifiedTokens.Where(t => t.Value == name).Select(t => t.Key).ToList(),
        proxy = Find(name)?.Proxy,
        proxyUsername = Find(name)?.ProxyUsername,
        profileStored = logins.ContainsKey(name),
    };

    public void SetFault(string name, string? mode) => instanceFaults.Set(Provider, name, mode);

    private bool Stalls(WppSession s) =>
        faults.StallStarts || instanceFaults.Has(Provider, s.Name, InstanceFault.Unreachable) || (browsers.TryGetValue(s.Name, out var locked) && locked);

    // ---- auth (src/controller/encryptController.ts, src/middleware/auth.ts) -----------------------------

    public IResult GenerateToken(string session, string secret)
    {
        if (secret != Options.WppSecretKey) return Results.Json(new { response = false, message = "The SECRET_KEY is incorrect" }, statusCode: 400);
        var token = BCrypt.Net.BCrypt.HashPassword(session + secret, BCrypt.Net.BCrypt.GenerateSalt(10, 'b')).Replace('/', '_').Replace('+', '-');
        return Results.Json(new { status = "success", session, token, full = $"{session}:{token}" }, statusCode: 201);
    }

    /// <summary>bcrypt reads only the first 72 bytes of session+secret: that quirk is kept, not fixed.</summary>
    public bool Verify(string session, string token)
    {
        if (verifiedTokens.TryGetValue(token, out var known)) return known == session;
        bool ok;
        try { ok = BCrypt.Net.BCrypt.Verify(session + Options.WppSecretKey, token.Replace('_', '/').Replace('-', '+')); }
        catch (BCrypt.Net.SaltParseException) { ok = false; }
        if (ok) verifiedTokens[token] = session;
        return ok;
    }

    // ---- sessions ---------------------------------------------------------------------------------------

    public async Task<IResult> StartAsync(string name, JsonElement body, HttpContext http)
    {
        var existing = sessions.GetValueOrDefault(name);
        if (existing is { Status: not (null or "CLOSED") }) return Json(http, StatusShape(existing));

        var session = new WppSession
        {
            Name = name,
            Status = "INITIALIZING",
            Webhook = Str(body, "webhook") ?? configs.GetValueOrDefault(name)?.Webhook,
            Proxy = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("proxy", out var proxy) && proxy.ValueKind == JsonValueKind.Object ? Str(proxy, "url") : null,
            ProxyUsername = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("proxy", out var p) && p.ValueKind == JsonValueKind.Object ? Str(p, "username") : null,
            Phone = Str(body, "phone"),
        };
        var wait = body.ValueKind == JsonValueKind.Object && body.TryGetProperty("waitQrCode", out var w) && w.ValueKind == JsonValueKind.True && existing is null;
        if (wait) session.WaitingForQr = new TaskCompletionSource<IResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        sessions[name] = session;
        configs[name] = session;
        // A locked browser keeps its profile: the new start fails inside the server ("The browser is already running for
        // …/userDataDir/<session>") and the session sits INITIALIZING again.
        browsers.TryAdd(name, false);
        _ = Task.Run(() => BeginLogin(session));

        if (wait) return await session.WaitingForQr!.Task.WaitAsync(http.RequestAborted);
        return existing is null
            ? Json(http, new JsonObject { ["status"] = "CLOSED", ["qrcode"] = null })
            : Json(http, new JsonObject { ["status"] = null, ["qrcode"] = null, ["version"] = Version });
    }

    public JsonObject StatusShape(WppSession? s)
    {
        if (s?.Status is null) return new JsonObject { ["status"] = "CLOSED", ["qrcode"] = null };
        lock (s.Sync)
        {
            var shape = new JsonObject
            {
                ["status"] = s.Status,
                ["qrcode"] = s.Urlcode is null ? null : "data:image/png;base64," + s.QrBase64,
            };
            if (s.Urlcode is not null) shape["urlcode"] = s.Urlcode;
            shape["version"] = Version;
            return shape;
        }
    }

    public IResult QrCode(string name, HttpContext http)
    {
        var s = sessions.GetValueOrDefault(name);
        if (s is null) return Json(http, new JsonObject { ["status"] = null, ["message"] = "Session not started. Please, use the /start-session route, for initialization your session" });
        lock (s.Sync)
        {
            if (s.Urlcode is not null) return Results.File(QrImages.Png(s.Urlcode), "image/png");
            return Json(http, new JsonObject { ["status"] = s.Status, ["message"] = "QRCode is not available..." });
        }
    }

    public IResult CheckConnection(string name, HttpContext http) =>
        Find(name)?.Status == "CONNECTED"
            ? Json(http, new JsonObject { ["status"] = true, ["message"] = "Connected" })
            : Json(http, new JsonObject { ["status"] = false, ["message"] = "Disconnected" });

    public IResult Logout(string name, HttpContext http)
    {
        var s = Find(name);
        if (s?.Status != "CONNECTED") return NotActive(http);
        lock (s.Sync)
        {
            sessions.TryRemove(name, out _);
            logins.TryRemove(name, out _);
            browsers.TryRemove(name, out _);
            Post(s, "logoutsession", new JsonObject { ["message"] = $"Session: {name} logged out", ["connected"] = false });
        }
        return Json(http, new JsonObject { ["status"] = true, ["message"] = "Session successfully closed" });
    }

    public IResult Close(string name, HttpContext http)
    {
        var s = Find(name);
        if (s?.Status is null) return Json(http, new JsonObject { ["status"] = true, ["message"] = "Session successfully closed" });
        lock (s.Sync)
        {
            var wasInitializing = s.Status == "INITIALIZING";
            s.Status = null;
            s.Urlcode = null;
            s.QrTimer?.Dispose();
            s.AutoCloseTimer?.Dispose();
            // Quirk: a session still INITIALIZING only has a placeholder without close(): 500, status reset anyway, and its
            // Chromium keeps running with the profile locked until the server restarts (contract §7).
            if (wasInitializing)
            {
                if (browsers.ContainsKey(name)) browsers[name] = true;
                return Results.Json(new { status = false, message = "Error closing session", error = new { level = "error" } }, statusCode: 500);
            }
            browsers.TryRemove(name, out _);
            Post(s, "closesession", new JsonObject { ["message"] = $"Session: {name} disconnected", ["connected"] = false });
        }
        return Json(http, new JsonObject { ["status"] = true, ["message"] = "Session successfully closed" });
    }

    /// <summary>
    /// clear-session-data: ends a live page, then deletes the browser profile, and answers 200 {"success":true} (seen on the
    /// real 2.10.4 driven by ZapHub, 2026-12-02). The token file stays (its path lacks a separator), and a running locked
    /// Chromium is not ended (it went on running without its profile folder). A wrong secret is answered 400 and the data
    /// is deleted anyway (no return after the answer; read in miscController.ts, not run).
    /// </summary>
    public IResult ClearSessionData(string name, string secret)
    {
        if (Find(name) is { } s && !(browsers.TryGetValue(name, out var locked) && locked))
            lock (s.Sync)
            {
                s.QrTimer?.Dispose();
                s.AutoCloseTimer?.Dispose();
                s.Status = null;
                sessions.TryRemove(name, out _);
                browsers.TryRemove(name, out _);
            }
        logins.TryRemove(name, out _);
        return secret == Options.WppSecretKey
            ? Results.Ok(new { success = true })
            : Results.Json(new { response = "error", message = "The token is incorrect" }, statusCode: 400);
    }

    /// <summary>host-device: the connected account, with the phone as its WhatsApp id (getWid). Behind statusConnection.</summary>
    public IResult HostDevice(string name, HttpContext http)
    {
        if (Connected(name) is null || logins.GetValueOrDefault(name) is not { } login) return NotActive(http);
        var wid = login.Wid + "@c.us";
        return Json(http, JsonSerializer.SerializeToNode(new
        {
            status = "success",
            response = new { id = wid, wid = new { server = "c.us", user = login.Wid, _serialized = wid }, pushname = login.ProfileName, platform = "android", phoneNumber = wid },
            mapper = "device",
        })!.AsObject());
    }

    // ---- messages ---------------------------------------------------------------------------------------

    public IResult SendMessage(string name, JsonElement body, HttpContext http)
    {
        if (Connected(name) is not { } s) return NotActive(http);
        if (Targets(body) is not { Count: > 0 } targets) return Results.Json("Error sending message", statusCode: 400);
        if (targets.FirstOrDefault(t => t.EndsWith("@c.us") && !QrImages.NumberExists(t.Split('@')[0])) is { } unknown)
            return Results.Json(new { response = (object?)null, status = "Connected", message = $"O número {unknown.Split('@')[0]} não existe." }, statusCode: 400);
        var text = Str(body, "message") ?? "";
        var me = logins.GetValueOrDefault(name)?.Wid ?? "5500000000000";
        var result = new JsonArray();
        foreach (var chatId in targets)
        {
            var key = QrImages.NewMessageKey();
            var id = $"true_{chatId}_{key}";
            sent.Add(new SentMessage("wppconnect", name, id, chatId.Split('@')[0], text, null, time.GetUtcNow()));
            result.Add(new JsonObject
            {
                ["id"] = id, ["body"] = text, ["type"] = "chat", ["t"] = time.GetUtcNow().ToUnixTimeSeconds(), ["from"] = me + "@c.us",
                ["to"] = chatId, ["ack"] = 1, ["fromMe"] = true, ["chatId"] = chatId,
            });
            Ack(s, id, chatId, text, 1);
        }
        return Results.Json(new JsonObject { ["status"] = "success", ["response"] = result, ["mapper"] = "return" }, statusCode: 201);
    }

    public IResult SendFile(string name, JsonElement body, HttpContext http)
    {
        if (Connected(name) is not { } s) return NotActive(http);
        var base64 = Str(body, "base64");
        var path = Str(body, "path");
        if (string.IsNullOrEmpty(base64) && string.IsNullOrEmpty(path))
            return Results.Json(new { message = "Sending the file is mandatory" }, statusCode: 401);
        if (Targets(body) is not { Count: > 0 } targets) return Results.Json("Error sending message", statusCode: 400);
        var result = new JsonArray();
        foreach (var chatId in targets)
        {
            var id = $"true_{chatId}_{QrImages.NewMessageKey()}";
            sent.Add(new SentMessage("wppconnect", name, id, chatId.Split('@')[0], Str(body, "caption") ?? Str(body, "message"), "file", time.GetUtcNow()));
            result.Add(new JsonObject { ["ack"] = 1, ["id"] = id });
            Ack(s, id, chatId, "", 1);
        }
        return Results.Json(new JsonObject { ["status"] = "success", ["response"] = result, ["mapper"] = "return" }, statusCode: 201);
    }

    public IResult CheckNumber(string name, string phone, HttpContext http)
    {
        if (Connected(name) is null) return NotActive(http);
        var digits = new string(phone.Where(char.IsAsciiDigit).ToArray());
        var exists = QrImages.NumberExists(digits);
        object id = exists ? new { server = "c.us", user = digits, _serialized = digits + "@c.us" } : digits + "@c.us";
        return Json(http, JsonSerializer.SerializeToNode(new
        {
            status = "success",
            response = new { id, isBusiness = false, canReceiveMessage = exists, numberExists = exists, status = exists ? 200 : 404 },
        })!.AsObject());
    }

    // ---- the phone --------------------------------------------------------------------------------------

    public bool Scan(string name, string phone, string profileName, string? pairingCode = null)
    {
        var s = Find(name);
        if (s is null) return false;
        lock (s.Sync)
        {
            if (s.Status is not ("QRCODE" or "PHONECODE")) return false;
            if (pairingCode is not null && !string.Equals(pairingCode.Replace("-", ""), s.PhoneCode, StringComparison.OrdinalIgnoreCase)) return false;
            logins[name] = new WppLogin(phone, profileName);
            StatusFind(s, "qrReadSuccess");
            Connect(s);
            return true;
        }
    }

    public bool Unlink(string name)
    {
        var s = Find(name);
        if (s is null) return false;
        lock (s.Sync)
        {
            if (s.Status != "CONNECTED") return false;
            logins.TryRemove(name, out _);
            StatusFind(s, "disconnectedMobile");
            s.Status = "CLOSED";
            sessions.TryRemove(name, out _);
            browsers.TryRemove(name, out _);
            return true;
        }
    }

    public bool Receive(string name, string from, string pushName, string text)
    {
        if (Connected(name) is not { } s) return false;
        var me = logins.GetValueOrDefault(name)?.Wid ?? "";
        Post(s, "onmessage", new JsonObject
        {
            ["id"] = $"false_{from}@c.us_{QrImages.NewMessageKey()}", ["body"] = text, ["type"] = "chat", ["t"] = time.GetUtcNow().ToUnixTimeSeconds(),
            ["notifyName"] = pushName, ["from"] = from + "@c.us", ["to"] = me + "@c.us", ["author"] = null, ["chatId"] = from + "@c.us",
            ["fromMe"] = false, ["ack"] = 1, ["isNewMsg"] = true,
            ["sender"] = new JsonObject { ["id"] = from + "@c.us", ["pushname"] = pushName, ["isBusiness"] = false },
            ["timestamp"] = time.GetUtcNow().ToUnixTimeSeconds(), ["content"] = text, ["isGroupMsg"] = false, ["isMedia"] = false,
            ["isMMS"] = false, ["isNotification"] = false, ["isPSA"] = false, ["quotedMsgId"] = null, ["mediaData"] = new JsonObject(),
        });
        return true;
    }

    public bool AckSent(string name, string messageId, int ack)
    {
        var s = Find(name);
        var message = sent.All.FirstOrDefault(m => m.Provider == "wppconnect" && m.MessageId == messageId);
        if (s is null || message is null || (faults.PhoneOffline && ack > 1)) return false;
        Ack(s, messageId, message.To + "@c.us", message.Text ?? "", ack);
        return true;
    }

    // ---- the engine ---------------------------------------------------------------------------------

    private void BeginLogin(WppSession s)
    {
        lock (s.Sync)
        {
            if (s.Status != "INITIALIZING" || Stalls(s)) return;
            if (logins.ContainsKey(s.Name))
            {
                StatusFind(s, "isLogged");
                Connect(s);
                return;
            }
            StatusFind(s, "notLogged");
            if (s.Phone is not null)
            {
                s.Status = "PHONECODE";
                s.PhoneCode = QrImages.NewPairingCode();
                Post(s, "phoneCode", new JsonObject { ["phoneCode"] = s.PhoneCode, ["phone"] = s.Phone });
                s.WaitingForQr?.TrySetResult(Results.Ok(new { status = "phoneCode", phone = s.Phone, phoneCode = s.PhoneCode, session = s.Name }));
            }
            else
            {
                s.Status = "QRCODE";
                NewQr(s);
                s.WaitingForQr?.TrySetResult(Results.Ok(new { status = "qrcode", qrcode = s.QrBase64, urlcode = s.Urlcode, session = s.Name }));
                s.QrTimer = time.CreateTimer(_ => { lock (s.Sync) if (s.Status == "QRCODE") NewQr(s); }, null, Options.WppQrInterval, Options.WppQrInterval);
            }
            s.AutoCloseTimer = time.CreateTimer(_ => AutoClose(s), null, Options.WppAutoClose, Timeout.InfiniteTimeSpan);
        }
    }

    private void AutoClose(WppSession s)
    {
        lock (s.Sync)
        {
            if (s.Status is not ("QRCODE" or "PHONECODE")) return;
            s.QrTimer?.Dispose();
            StatusFind(s, "autocloseCalled");
            s.Status = "CLOSED";
            sessions.TryRemove(new KeyValuePair<string, WppSession>(s.Name, s));
            browsers.TryRemove(s.Name, out _);
        }
    }

    private void NewQr(WppSession s)
    {
        s.Urlcode = QrImages.NewWhatsAppCode();
        s.QrBase64 = QrImages.Base64Png(s.Urlcode);
        Post(s, "qrcode", new JsonObject { ["qrcode"] = s.QrBase64, ["urlcode"] = s.Urlcode });
    }

    private void Connect(WppSession s)
    {
        s.QrTimer?.Dispose();
        s.AutoCloseTimer?.Dispose();
        s.Status = "CONNECTED";
        // Quirk: urlcode is never cleared after a QR login; a CONNECTED session may still show a QR.
        StatusFind(s, "inChat");
    }

    private void StatusFind(WppSession s, string status) => Post(s, "status-find", new JsonObject { ["status"] = status });

    private void Ack(WppSession s, string id, string chatId, string body, int ack)
    {
        var parts = id.Split('_', 3);
        Post(s, "onack", new JsonObject
        {
            ["id"] = new JsonObject { ["fromMe"] = true, ["remote"] = chatId, ["id"] = parts[^1], ["_serialized"] = id },
            ["body"] = body, ["type"] = "chat", ["t"] = time.GetUtcNow().ToUnixTimeSeconds(),
            ["from"] = (logins.GetValueOrDefault(s.Name)?.Wid ?? "") + "@c.us", ["to"] = chatId, ["ack"] = ack, ["isNewMsg"] = true,
        });
    }

    /// <summary>callWebHook: Object.assign({event, session}, data), posted to the session's webhook; unsigned.</summary>
    private void Post(WppSession s, string evt, JsonObject data)
    {
        if (string.IsNullOrEmpty(s.Webhook)) return;
        var body = new JsonObject { ["event"] = evt, ["session"] = s.Name };
        foreach (var (k, v) in data) body[k] = v?.DeepClone();
        webhooks.Post(s.Webhook, body.ToJsonString());
    }

    private WppSession? Connected(string name) => Find(name) is { Status: "CONNECTED" } s ? s : null;

    private static IResult NotActive(HttpContext http) =>
        Results.Json(new { response = (object?)null, status = "Disconnected", message = "A sessão do WhatsApp não está ativa." }, statusCode: 404);

    /// <summary>contactToArray: strings split on , or ;, non-word characters stripped, the JID suffix chosen.</summary>
    private static List<string> Targets(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("phone", out var phone)) return [];
        var raw = phone.ValueKind switch
        {
            JsonValueKind.String => phone.GetString()!.Split([',', ';'], StringSplitOptions.RemoveEmptyEntries).ToList(),
            JsonValueKind.Array => phone.EnumerateArray().Select(p => p.ToString()).ToList(),
            _ => [],
        };
        bool Flag(string n) => body.TryGetProperty(n, out var f) && f.ValueKind == JsonValueKind.True;
        return raw.Select(p => new string(p.Where(c => char.IsLetterOrDigit(c) || c == '_').ToArray())).Where(p => p.Length > 0)
            .Select(p => Flag("isGroup") ? p + "@g.us" : Flag("isNewsletter") ? p + "@newsletter" : Flag("isLid") || p.Length > 14 ? p + "@lid" : p + "@c.us")
            .ToList();
    }

    /// <summary>Quirk of the res.send wrapper: a request with Content-Type exactly application/json gets a "session" field added.</summary>
    public static IResult Json(HttpContext http, JsonObject body)
    {
        if (http.Request.ContentType == "application/json" && !body.ContainsKey("session"))
            body["session"] = http.Request.RouteValues["session"]?.ToString() ?? "";
        return Results.Json(body);
    }

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
