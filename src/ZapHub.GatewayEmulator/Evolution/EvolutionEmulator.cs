using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace ZapHub.GatewayEmulator.Evolution;

/// <summary>
/// Evolution API v2 (2.3.6) as documented in shared/contracts/evolution-api-v2.md: same routes, auth order,
/// status codes, error bodies and webhook envelopes. Instances live in memory.
/// </summary>
public sealed class EvolutionEmulator(IOptions<EmulatorOptions> options, WebhookPoster webhooks, TimeProvider time, SentLog sent, Faults faults, InstanceFaults instanceFaults)
{
    public static readonly string[] KnownEvents =
    [
        "APPLICATION_STARTUP", "QRCODE_UPDATED", "MESSAGES_SET", "MESSAGES_UPSERT", "MESSAGES_EDITED", "MESSAGES_UPDATE", "MESSAGES_DELETE",
        "SEND_MESSAGE", "SEND_MESSAGE_UPDATE", "CONTACTS_SET", "CONTACTS_UPSERT", "CONTACTS_UPDATE", "PRESENCE_UPDATE", "CHATS_SET", "CHATS_UPSERT",
        "CHATS_UPDATE", "CHATS_DELETE", "GROUPS_UPSERT", "GROUP_UPDATE", "GROUP_PARTICIPANTS_UPDATE", "CONNECTION_UPDATE", "LABELS_EDIT",
        "LABELS_ASSOCIATION", "CALL", "TYPEBOT_START", "TYPEBOT_CHANGE_STATUS", "REMOVE_INSTANCE", "LOGOUT_INSTANCE", "INSTANCE_CREATE",
        "INSTANCE_DELETE", "STATUS_INSTANCE",
    ];

    private static readonly string[] Integrations = ["WHATSAPP-BAILEYS", "WHATSAPP-BUSINESS", "EVOLUTION"];
    private readonly ConcurrentDictionary<string, EvolutionInstance> instances = new();
    private EmulatorOptions Options => options.Value;

    public EvolutionInstance? Find(string name) => instances.GetValueOrDefault(name);
    public IReadOnlyCollection<EvolutionInstance> All => instances.Values.ToList();

    public const string Provider = "evolution";

    /// <summary>"Restart and forget": what a gateway whose database was lost looks like.</summary>
    public void Forget()
    {
        foreach (var instance in instances.Values) instance.QrTimer?.Dispose();
        instances.Clear();
    }

    /// <summary>
    /// A restart with its database kept: every instance is loaded again; a logged-in one reconnects on its own, the others
    /// stay closed without a socket until somebody connects them.
    /// </summary>
    public void RestartKeepingData()
    {
        foreach (var instance in instances.Values)
            lock (instance.Sync)
            {
                instance.QrTimer?.Dispose();
                instance.State = "close";
                instance.HasSocket = false;
                if (!instance.HasSession) continue;
                instance.HasSocket = true;
                EmitConnection(instance, "connecting", 200);
                Open(instance);
            }
    }

    /// <summary>The instance is gone from the server without a webhook (deleted there, or lost with its database).</summary>
    public bool Lose(string name)
    {
        if (!instances.TryRemove(name, out var instance)) return false;
        instance.QrTimer?.Dispose();
        return true;
    }

    /// <summary>Switches a fault mode on or off for an instance name; a mode that changes a live instance applies at once.</summary>
    public void SetFault(string name, string? mode)
    {
        instanceFaults.Set(Provider, name, mode);
        if (Find(name) is not { } instance) return;
        lock (instance.Sync)
        {
            if (mode == InstanceFault.Socketless)
            {
                // The server lost the socket silently (e.g. it restarted and did not reconnect this instance).
                instance.QrTimer?.Dispose();
                instance.State = "close";
                instance.HasSocket = false;
            }
            // WhatsApp reachable again while the loop runs: the next socket gets a QR code, as on the real server.
            if (mode is null && instance.Looping) StartConnecting(instance, instance.PairingPhone);
        }
    }

    private bool Unreachable(EvolutionInstance instance) => instanceFaults.Has(Provider, instance.Name, InstanceFault.Unreachable);

    /// <summary>
    /// The loop of an unreachable WhatsApp: a socket is re-created at once after each failure and every try posts
    /// connection.update connecting 200, while connectionState reads close. Only deleting the instance silences it.
    /// </summary>
    private void StartReconnectLoop(EvolutionInstance instance)
    {
        if (instance.Looping) return;
        instance.Looping = true;
        instance.HasSocket = true;
        instance.State = "close";
        _ = Task.Run(async () =>
        {
            try
            {
                while (Find(instance.Name) == instance && Unreachable(instance))
                {
                    lock (instance.Sync) EmitConnection(instance, "connecting", 200);
                    await Task.Delay(Options.EvolutionReconnectInterval, time);
                }
            }
            finally
            {
                lock (instance.Sync) instance.Looping = false;
            }
        });
    }

    /// <summary>Posts <paramref name="count"/> `connecting` webhooks as fast as the receiver takes them; returns how each was answered.</summary>
    public async Task<Dictionary<int, int>> StormAsync(EvolutionInstance instance, int count, CancellationToken ct)
    {
        var answers = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (_, token) =>
        {
            if (Envelope(instance, "connection.update", new { instance = instance.Name, state = "connecting", statusReason = 200 }) is not { } post) return;
            var status = await webhooks.SendNowAsync(post.Url, post.Json, token);
            answers.AddOrUpdate(status, 1, (_, n) => n + 1);
        });
        return answers.ToDictionary();
    }

    // ---- REST -------------------------------------------------------------------------------------------

    public IResult Create(JsonElement body)
    {
        var name = Str(body, "instanceName");
        if (body.TryGetProperty("instanceName", out var n) && n.ValueKind == JsonValueKind.String && name == "")
            return Error(400, "Bad Request", new[] { new[] { "The \"instanceName\" cannot be empty" } });
        if (body.TryGetProperty("qrcode", out var q) && q.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            return Error(400, "Bad Request", new[] { new[] { "qrcode is not of a type(s) boolean" } });
        if (!Integrations.Contains(Str(body, "integration")))
            return Error(400, "Bad Request", new[] { "Invalid integration" });
        if (string.IsNullOrEmpty(name))
            return Error(400, "Bad Request", new[] { new[] { "The \"instanceName\" cannot be empty" } });

        string? webhookUrl = null;
        var byEvents = false;
        HashSet<string> events = [];
        if (body.TryGetProperty("webhook", out var webhook) && webhook.ValueKind == JsonValueKind.Object)
        {
            // Quirk: a webhook without "events" crashes inside WebhookController.set.
            if (!webhook.TryGetProperty("events", out var ev) || ev.ValueKind != JsonValueKind.Array)
                return Error(400, "Bad Request", new[] { "Cannot read properties of undefined (reading 'length')" });
            var unknown = ev.EnumerateArray().Select(e => e.GetString() ?? "").FirstOrDefault(e => !KnownEvents.Contains(e));
            if (unknown is not null)
                return Error(400, "Bad Request", new[] { new[] { $"webhook.events[0] is not one of enum values: {string.Join(",", KnownEvents)}" } });
            webhookUrl = Str(webhook, "url");
            byEvents = webhook.TryGetProperty("byEvents", out var be) && be.ValueKind == JsonValueKind.True;
            events = ev.EnumerateArray().Select(e => e.GetString()!).ToHashSet();
        }

        // Evolution tests a proxy with an outbound request through it before it creates anything.
        var proxy = Str(body, "proxyHost") is { Length: > 0 } proxyHost ? (Host: proxyHost, Port: Str(body, "proxyPort"), Protocol: Str(body, "proxyProtocol") ?? "http") : default;
        if (proxy.Host is not null && !ProxyAnswers(proxy.Host)) return Error(400, "Bad Request", new[] { "Invalid proxy" });

        var now = time.GetUtcNow();
        var instance = new EvolutionInstance
        {
            Name = name,
            Token = Str(body, "token") is { Length: > 0 } token ? token : Guid.NewGuid().ToString().ToUpperInvariant(),
            CreatedAt = now,
            UpdatedAt = now,
            WebhookUrl = webhookUrl,
            WebhookByEvents = byEvents,
            WebhookEnabled = webhookUrl is not null,
            WebhookEvents = events,
            Proxy = proxy.Host is null ? null : $"{proxy.Protocol}://{proxy.Host}:{proxy.Port}",
            ProxyUsername = Str(body, "proxyUsername"),
            ProxyPasswordGiven = Str(body, "proxyPassword") is { Length: > 0 },
        };
        if (!instances.TryAdd(name, instance))
            return Error(403, "Forbidden", new[] { $"This name \"{name}\" is already in use." });
        Emit(instance, "instance.create", new { instanceName = name, instanceId = instance.Id });

        var wantsQr = body.TryGetProperty("qrcode", out var qr) && qr.ValueKind == JsonValueKind.True;
        if (wantsQr)
            lock (instance.Sync) StartConnecting(instance, Str(body, "number") is { Length: > 0 } phone ? phone : null);

        var response = new JsonObject
        {
            ["instance"] = new JsonObject
            {
                ["instanceName"] = name, ["instanceId"] = instance.Id, ["integration"] = Str(body, "integration"),
                ["webhookWaBusiness"] = null, ["accessTokenWaBusiness"] = "", ["status"] = instance.State,
            },
            ["hash"] = instance.Token,
            ["webhook"] = webhookUrl is null ? new JsonObject() : new JsonObject { ["webhookUrl"] = webhookUrl, ["webhookByEvents"] = byEvents, ["webhookBase64"] = false },
            ["websocket"] = new JsonObject(), ["rabbitmq"] = new JsonObject(), ["nats"] = new JsonObject(), ["sqs"] = new JsonObject(),
            ["settings"] = new JsonObject
            {
                ["rejectCall"] = false, ["msgCall"] = "", ["groupsIgnore"] = false, ["alwaysOnline"] = false,
                ["readMessages"] = false, ["readStatus"] = false, ["syncFullHistory"] = false, ["wavoipToken"] = "",
            },
        };
        if (wantsQr) lock (instance.Sync) response["qrcode"] = JsonSerializer.SerializeToNode(instance.QrObject());
        return Results.Json(response, statusCode: 201);
    }

    public IResult Connect(EvolutionInstance instance, string? number)
    {
        lock (instance.Sync)
        {
            switch (instance.State)
            {
                case "open":
                    return Results.Ok(ConnectionState(instance));
                case "connecting":
                    return Results.Ok(instance.QrObject());
                default:
                    if (Unreachable(instance))
                    {
                        StartReconnectLoop(instance);
                        return Results.Ok(new { count = 0 });
                    }
                    StartConnecting(instance, number);
                    return Results.Ok(instance.QrObject());
            }
        }
    }

    public static object ConnectionState(EvolutionInstance i) => new { instance = new { instanceName = i.Name, state = i.State } };

    public IResult FetchInstances(string? instanceName, string? presentedKey)
    {
        var all = instances.Values.AsEnumerable();
        if (presentedKey != Options.EvolutionApiKey) all = all.Where(i => i.Token == presentedKey);
        if (instanceName is not null)
        {
            var one = all.FirstOrDefault(i => i.Name == instanceName);
            if (one is null) return Error(404, "Not Found", new[] { $"Instance \"{instanceName}\" not found" });
            all = [one];
        }
        return Results.Ok(all.OrderBy(i => i.CreatedAt).Select(Row).ToList());
    }

    private static object Row(EvolutionInstance i)
    {
        lock (i.Sync)
            return new
            {
                id = i.Id, name = i.Name, connectionStatus = i.StoredStatus, ownerJid = i.Wuid, profileName = i.ProfileName, profilePicUrl = (string?)null,
                integration = "WHATSAPP-BAILEYS", number = (string?)null, businessId = (string?)null, token = i.Token, clientName = "evolution_exchange",
                disconnectionReasonCode = i.DisconnectionReasonCode, disconnectionObject = i.DisconnectionReasonCode is null ? null : "{\"error\":{}}",
                disconnectionAt = i.DisconnectionAt, createdAt = i.CreatedAt, updatedAt = i.UpdatedAt,
                Chatwoot = (object?)null, Proxy = (object?)null, Rabbitmq = (object?)null, Nats = (object?)null, Sqs = (object?)null, Websocket = (object?)null,
                Setting = new { rejectCall = false, msgCall = "", groupsIgnore = false, alwaysOnline = false, readMessages = false, readStatus = false, syncFullHistory = false },
                _count = new { Message = 0, Contact = 0, Chat = 0 },
            };
    }

    public IResult Restart(EvolutionInstance instance)
    {
        lock (instance.Sync)
        {
            // Quirk of 2.3.6: a closed instance answers 200 with a stringified BadRequest.
            if (instance.State == "close") return Results.Ok(new { error = true, message = "[object Object]" });
            instance.QrTimer?.Dispose();
            instance.State = "close";
            if (instance.HasSession)
            {
                EmitConnection(instance, "connecting", 200);
                Open(instance);
                return Results.Ok(ConnectionState(instance));
            }
            StartConnecting(instance, null);
            return Results.Ok(instance.QrObject());
        }
    }

    public IResult Logout(EvolutionInstance instance)
    {
        lock (instance.Sync)
        {
            if (instance.State == "close") return Error(400, "Bad Request", new[] { $"The \"{instance.Name}\" instance is not connected" });
            LoggedOut(instance);
        }
        return Results.Ok(new { status = "SUCCESS", error = false, response = new { message = "Instance logged out" } });
    }

    public IResult Delete(EvolutionInstance instance)
    {
        lock (instance.Sync)
        {
            if (instance.State is "open" or "connecting") LoggedOut(instance);
            instance.QrTimer?.Dispose();
        }
        instances.TryRemove(instance.Name, out _);
        Emit(instance, "instance.delete", new { instanceName = instance.Name, instanceId = instance.Id });
        Emit(instance, "remove.instance", null);
        return Results.Ok(new { status = "SUCCESS", error = false, response = new { message = "Instance deleted" } });
    }

    /// <summary>POST /proxy/set/{instance}: like create, the proxy is tried first; one that does not answer is refused.</summary>
    public IResult SetProxy(EvolutionInstance instance, JsonElement body)
    {
        var host = Str(body, "host");
        if (string.IsNullOrEmpty(host) || string.IsNullOrEmpty(Str(body, "port")))
            return Error(400, "Bad Request", new[] { new[] { "proxy requires property \"host\"" } });
        if (!ProxyAnswers(host)) return Error(400, "Bad Request", new[] { "Invalid proxy" });
        lock (instance.Sync)
        {
            instance.Proxy = $"{Str(body, "protocol") ?? "http"}://{host}:{Str(body, "port")}";
            instance.ProxyUsername = Str(body, "username");
            instance.ProxyPasswordGiven = Str(body, "password") is { Length: > 0 };
        }
        return Results.Json(new { enabled = true, host, port = Str(body, "port"), protocol = Str(body, "protocol") ?? "http" }, statusCode: 201);
    }

    /// <summary>A proxy host in the reserved .invalid domain (RFC 6761) stands for one that does not answer.</summary>
    private static bool ProxyAnswers(string host) => !host.EndsWith(".invalid", StringComparison.OrdinalIgnoreCase);

    public IResult SetWebhook(EvolutionInstance instance, JsonElement body)
    {
        if (!body.TryGetProperty("webhook", out var w) || w.ValueKind != JsonValueKind.Object)
            return Error(400, "Bad Request", new[] { new[] { "instance requires property \"webhook\"" } });
        if (!w.TryGetProperty("enabled", out var enabled) || enabled.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            return Error(400, "Bad Request", new[] { new[] { "webhook requires property \"enabled\"" } });
        if (!w.TryGetProperty("url", out var url) || url.ValueKind != JsonValueKind.String)
            return Error(400, "Bad Request", new[] { new[] { "webhook requires property \"url\"" } });
        HashSet<string> events = [];
        if (enabled.ValueKind == JsonValueKind.True)
        {
            if (!w.TryGetProperty("events", out var ev) || ev.ValueKind != JsonValueKind.Array)
                return Error(500, "Internal Server Error", "Cannot read properties of undefined (reading 'length')");
            if (ev.EnumerateArray().Any(e => !KnownEvents.Contains(e.GetString())))
                return Error(400, "Bad Request", new[] { new[] { $"webhook.events[0] is not one of enum values: {string.Join(",", KnownEvents)}" } });
            events = ev.EnumerateArray().Select(e => e.GetString()!).ToHashSet();
        }
        lock (instance.Sync)
        {
            instance.WebhookEnabled = enabled.ValueKind == JsonValueKind.True;
            instance.WebhookUrl = url.GetString();
            instance.WebhookByEvents = w.TryGetProperty("byEvents", out var be) && be.ValueKind == JsonValueKind.True;
            instance.WebhookEvents = events;
        }
        return Results.Json(WebhookRow(instance), statusCode: 201);
    }

    public object? WebhookRow(EvolutionInstance i) => i.WebhookUrl is null ? null : new
    {
        id = i.WebhookId, url = i.WebhookUrl, headers = (object?)null, enabled = i.WebhookEnabled, events = i.WebhookEvents.ToArray(),
        webhookByEvents = i.WebhookByEvents, webhookBase64 = false, createdAt = i.CreatedAt, updatedAt = i.UpdatedAt, instanceId = i.Id,
    };

    public IResult SendText(EvolutionInstance instance, JsonElement body)
    {
        if (!body.TryGetProperty("number", out var num) || num.ValueKind != JsonValueKind.String)
            return Error(400, "Bad Request", new[] { new[] { "instance requires property \"number\"" } });
        if (!body.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
            return Error(400, "Bad Request", new[] { new[] { "instance requires property \"text\"" } });
        if (body.TryGetProperty("delay", out var delay) && delay.ValueKind != JsonValueKind.Number)
            return Error(400, "Bad Request", new[] { new[] { "Enter a value in milliseconds" } });
        if (string.IsNullOrWhiteSpace(text.GetString())) return Error(400, "Bad Request", new[] { "Text is required" });
        return Send(instance, num.GetString()!, "conversation", new JsonObject { ["conversation"] = text.GetString() }, text.GetString(), null);
    }

    public IResult SendMedia(EvolutionInstance instance, JsonElement body)
    {
        if (!body.TryGetProperty("number", out var num) || num.ValueKind != JsonValueKind.String)
            return Error(400, "Bad Request", new[] { new[] { "instance requires property \"number\"" } });
        var mediatype = Str(body, "mediatype");
        if (mediatype is not ("image" or "document" or "video" or "audio"))
            return Error(400, "Bad Request", new[] { new[] { "mediatype is not one of enum values: image,document,video,audio" } });
        var media = Str(body, "media") ?? "";
        if (media.StartsWith("data:", StringComparison.Ordinal) || media.Length == 0)
            return Error(400, "Bad Request", new[] { "Owned media must be a url or base64" });
        var isUrl = media.StartsWith("http://", StringComparison.Ordinal) || media.StartsWith("https://", StringComparison.Ordinal);
        if (!isUrl && mediatype == "document" && string.IsNullOrEmpty(Str(body, "fileName")))
            return Error(400, "Bad Request", new[] { "For base64 the file name must be informed." });
        var type = mediatype + "Message";
        var message = new JsonObject
        {
            [type] = new JsonObject
            {
                ["url"] = "https://mmg.whatsapp.net/emulated", ["mimetype"] = mediatype == "image" ? "image/jpeg" : Str(body, "mimetype") ?? "application/octet-stream",
                ["fileName"] = Str(body, "fileName") ?? (mediatype == "image" ? "image.jpg" : mediatype == "video" ? "video.mp4" : "file"),
                ["caption"] = Str(body, "caption"),
            },
        };
        return Send(instance, num.GetString()!, type, message, Str(body, "caption"), mediatype);
    }

    private IResult Send(EvolutionInstance instance, string number, string messageType, JsonObject message, string? text, string? mediaType)
    {
        string jid, key;
        lock (instance.Sync)
        {
            // Without a socket the server fails before it checks the connection (contract §2).
            if (!instance.HasSocket) return Error(500, "Internal Server Error", "Cannot read properties of undefined (reading 'onWhatsApp')");
            if (instance.State != "open") return Error(500, "Internal Server Error", "Connection Closed");
            var digits = number.Split('@')[0];
            jid = number.Contains('@') ? number : digits + "@s.whatsapp.net";
            if (!number.Contains('@') && !QrImages.NumberExists(digits))
                return Error(400, "Bad Request", new[] { new { jid, exists = false, number = digits } });
            key = QrImages.NewMessageKey();
        }
        sent.Add(new SentMessage("evolution", instance.Name, key, jid.Split('@')[0], text, mediaType, time.GetUtcNow()));
        var response = new JsonObject
        {
            ["key"] = new JsonObject { ["remoteJid"] = jid, ["fromMe"] = true, ["id"] = key },
            ["pushName"] = "Você",
            ["status"] = "PENDING",
            ["message"] = message,
            ["contextInfo"] = new JsonObject { ["mentionedJid"] = new JsonArray(), ["groupMentions"] = new JsonArray() },
            ["messageType"] = messageType,
            ["messageTimestamp"] = time.GetUtcNow().ToUnixTimeSeconds(),
            ["instanceId"] = instance.Id,
            ["source"] = "web",
        };
        Emit(instance, "send.message", response.DeepClone());
        Ack(instance, key, jid, "SERVER_ACK");
        return Results.Json(response, statusCode: 201);
    }

    public IResult WhatsAppNumbers(EvolutionInstance instance, JsonElement body)
    {
        // This route answers errors itself, without the usual "response" wrapper.
        if (!body.TryGetProperty("numbers", out var numbers) || numbers.ValueKind != JsonValueKind.Array || numbers.GetArrayLength() == 0)
            return Results.Json(new { status = 400, error = "Bad Request", message = new[] { new[] { "numbers does not meet minimum length of 1" } } }, statusCode: 400);
        lock (instance.Sync)
            if (instance.State != "open")
                return Results.Json(new
                {
                    data = (object?)null, isBoom = true, isServer = false,
                    output = new { statusCode = 428, payload = new { statusCode = 428, error = "Precondition Required", message = "Connection Closed" }, headers = new { } },
                }, statusCode: 400);
        var result = numbers.EnumerateArray().Select(n => n.GetString() ?? "")
            .Select(n => n.EndsWith("@g.us")
                ? new { jid = n, exists = false, number = n, group = 0 }
                : new { jid = n.Split('@')[0] + "@s.whatsapp.net", exists = QrImages.NumberExists(n.Split('@')[0]), number = n, group = 1 })
            .OrderBy(x => x.group).Select(x => new { x.jid, x.exists, x.number });
        return Results.Ok(result);
    }

    // ---- the phone (control surface) --------------------------------------------------------------------

    public bool Scan(EvolutionInstance instance, string phone, string profileName, string? pairingCode = null)
    {
        lock (instance.Sync)
        {
            if (instance.State != "connecting") return false;
            if (pairingCode is not null && !string.Equals(pairingCode.Replace("-", ""), instance.PairingCode, StringComparison.OrdinalIgnoreCase)) return false;
            instance.Wuid = phone + "@s.whatsapp.net";
            instance.ProfileName = profileName;
            // After a scan Baileys closes with 515 restartRequired and Evolution reconnects on its own, silently.
            Open(instance);
            return true;
        }
    }

    /// <summary>A lost connection (408): Baileys closes, Evolution reconnects at once and silently; no close webhook.</summary>
    public bool Drop(EvolutionInstance instance)
    {
        lock (instance.Sync)
        {
            if (instance.State != "open") return false;
            EmitConnection(instance, "connecting", 408);
            if (faults.ReconnectAfterDrop) Open(instance);
            else instance.State = "connecting";
            return true;
        }
    }

    public bool Unlink(EvolutionInstance instance)
    {
        lock (instance.Sync)
        {
            if (instance.State != "open") return false;
            LoggedOut(instance);
            return true;
        }
    }

    public bool Receive(EvolutionInstance instance, string from, string pushName, string text)
    {
        lock (instance.Sync)
        {
            if (instance.State != "open") return false;
            Emit(instance, "messages.upsert", new JsonObject
            {
                ["key"] = new JsonObject { ["remoteJid"] = from + "@s.whatsapp.net", ["fromMe"] = false, ["id"] = QrImages.NewMessageKey().Replace("3EB0", "3A5F") },
                ["pushName"] = pushName, ["status"] = "DELIVERY_ACK",
                ["message"] = new JsonObject { ["conversation"] = text },
                ["messageType"] = "conversation", ["messageTimestamp"] = time.GetUtcNow().ToUnixTimeSeconds(),
                ["instanceId"] = instance.Id, ["source"] = "android",
            });
            return true;
        }
    }

    public bool AckSent(EvolutionInstance instance, string messageId, string status)
    {
        var message = sent.All.FirstOrDefault(m => m.Provider == "evolution" && m.MessageId == messageId);
        if (message is null) return false;
        if (faults.PhoneOffline && status != "SERVER_ACK") return false;
        Ack(instance, messageId, message.To + "@s.whatsapp.net", status);
        return true;
    }

    // ---- state machine ----------------------------------------------------------------------------------

    private void StartConnecting(EvolutionInstance instance, string? pairingPhone)
    {
        if (Unreachable(instance))
        {
            StartReconnectLoop(instance);
            return;
        }
        instance.HasSocket = true;
        instance.State = "connecting";
        instance.PairingPhone = pairingPhone;
        instance.PairingCode = pairingPhone is null ? null : QrImages.NewPairingCode();
        instance.UpdatedAt = time.GetUtcNow();
        EmitConnection(instance, "connecting", 200);
        if (faults.StallStarts) return;
        NewQr(instance);
        instance.QrTimer?.Dispose();
        instance.QrTimer = time.CreateTimer(_ => RotateQr(instance), null, Options.EvolutionQrInterval, Options.EvolutionQrInterval);
    }

    private void RotateQr(EvolutionInstance instance)
    {
        lock (instance.Sync)
        {
            if (instance.State != "connecting") return;
            if (instance.Count >= Options.EvolutionQrLimit)
            {
                // The limit: same event name, another data shape; then refused 428, a logout, and back to close.
                Emit(instance, "qrcode.updated", new { message = "QR code limit reached, please login again", statusCode = 500 });
                EmitConnection(instance, "refused", 428);
                instance.QrTimer?.Dispose();
                instance.State = "close";
                instance.Count = 0;
                instance.QrCode = null;
                instance.QrBase64 = null;
                return;
            }
            NewQr(instance);
        }
    }

    private void NewQr(EvolutionInstance instance)
    {
        instance.Count++;
        instance.StoredStatus = "connecting";
        instance.QrCode = QrImages.NewWhatsAppCode();
        instance.QrBase64 = "data:image/png;base64," + QrImages.Base64Png(instance.QrCode);
        Emit(instance, "qrcode.updated", new
        {
            qrcode = new { instance = instance.Name, pairingCode = instance.PairingCode, code = instance.QrCode, base64 = instance.QrBase64 },
        });
    }

    private void Open(EvolutionInstance instance)
    {
        instance.QrTimer?.Dispose();
        instance.State = instance.StoredStatus = "open";
        instance.HasSession = true;
        instance.QrCode = null;
        instance.QrBase64 = null;
        instance.UpdatedAt = time.GetUtcNow();
        Emit(instance, "connection.update", new JsonObject
        {
            ["instance"] = instance.Name, ["wuid"] = instance.Wuid, ["profileName"] = instance.ProfileName, ["state"] = "open", ["statusReason"] = 200,
        });
    }

    private void LoggedOut(EvolutionInstance instance)
    {
        instance.QrTimer?.Dispose();
        var now = time.GetUtcNow();
        instance.State = instance.StoredStatus = "close";
        instance.HasSession = false;
        instance.DisconnectionReasonCode = 401;
        instance.DisconnectionAt = now;
        instance.UpdatedAt = now;
        Emit(instance, "status.instance", new
        {
            instance = instance.Name, status = "closed", disconnectionAt = now.UtcDateTime.ToString("O"), disconnectionReasonCode = 401,
            disconnectionObject = "{\"error\":{\"data\":null,\"isBoom\":true,\"output\":{\"statusCode\":401}},\"date\":\"" + now.UtcDateTime.ToString("O") + "\"}",
        });
        Emit(instance, "logout.instance", null);
        // The account JID stays on the instance: the real server keeps "sender" on events after a logout.
        EmitConnection(instance, "close", 401);
    }

    private void Ack(EvolutionInstance instance, string key, string jid, string status) =>
        Emit(instance, "messages.update", new
        {
            keyId = key, remoteJid = jid, fromMe = true, status, instanceId = instance.Id, messageId = "cm" + Guid.NewGuid().ToString("N")[..23],
        });

    private void EmitConnection(EvolutionInstance instance, string state, int reason) =>
        Emit(instance, "connection.update", new { instance = instance.Name, state, statusReason = reason });

    private void Emit(EvolutionInstance instance, string evt, object? data)
    {
        if (Envelope(instance, evt, data) is { } post) webhooks.Post(post.Url, post.Json, retryServerErrors: true);
    }

    /// <summary>The envelope of WebhookController.emit: filter by the stored list, by-event URL suffix, sender only once open.</summary>
    private (string Url, string Json)? Envelope(EvolutionInstance instance, string evt, object? data)
    {
        if (!instance.WebhookEnabled || instance.WebhookUrl is null) return null;
        var key = evt.Replace('.', '_').Replace('-', '_').ToUpperInvariant();
        if (instance.WebhookEvents.Count > 0 && !instance.WebhookEvents.Contains(key)) return null;
        var envelope = new JsonObject
        {
            ["event"] = evt,
            ["instance"] = instance.Name,
            ["data"] = data is JsonNode node ? node : JsonSerializer.SerializeToNode(data),
            ["destination"] = instance.WebhookUrl,
            ["date_time"] = time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ"),
        };
        if (instance.Wuid is not null) envelope["sender"] = instance.Wuid;
        envelope["server_url"] = Options.ServerUrl;
        envelope["apikey"] = instance.Token;
        var url = instance.WebhookByEvents ? instance.WebhookUrl.TrimEnd('/') + "/" + key.Replace('_', '-').ToLowerInvariant() : instance.WebhookUrl;
        return (url, envelope.ToJsonString());
    }

    public static IResult Error(int status, string error, object message) =>
        Results.Json(new { status, error, response = new { message } }, statusCode: status);

    private static string? Str(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
