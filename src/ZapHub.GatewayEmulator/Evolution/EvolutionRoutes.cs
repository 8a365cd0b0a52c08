using System.Text.Json;
using Microsoft.Extensions.Options;

namespace ZapHub.GatewayEmulator.Evolution;

public static class EvolutionRoutes
{
    public static void Map(RouteGroupBuilder g)
    {
        g.MapPost("/verify-creds", (HttpContext http, IOptions<EmulatorOptions> o) =>
            IsGlobal(http, o) ? Results.Ok(new { status = 200, message = "Credentials are valid" }) : Unauthorized());

        g.MapPost("/instance/create", async (HttpContext http, EvolutionEmulator evo, IOptions<EmulatorOptions> o) =>
        {
            if (!IsGlobal(http, o)) return Unauthorized();
            var (body, error) = await ReadAsync(http);
            return error ?? evo.Create(body);
        });
        g.MapGet("/instance/fetchInstances", (HttpContext http, EvolutionEmulator evo, IOptions<EmulatorOptions> o, string? instanceName) =>
        {
            var key = http.Request.Headers["apikey"].ToString();
            if (!IsGlobal(http, o) && evo.All.All(i => i.Token != key)) return Unauthorized();
            return evo.FetchInstances(instanceName, key);
        });

        Instance(g, "GET", "/instance/connect/{name}", (http, evo, i, _) => evo.Connect(i, http.Request.Query["number"].FirstOrDefault()));
        Instance(g, "GET", "/instance/connectionState/{name}", (_, _, i, _) => Results.Ok(EvolutionEmulator.ConnectionState(i)));
        Instance(g, "POST", "/instance/restart/{name}", (_, evo, i, _) => evo.Restart(i));
        Instance(g, "DELETE", "/instance/logout/{name}", (_, evo, i, _) => evo.Logout(i));
        Instance(g, "DELETE", "/instance/delete/{name}", (_, evo, i, _) => evo.Delete(i));
        Instance(g, "POST", "/webhook/set/{name}", (_, evo, i, body) => evo.SetWebhook(i, body));
        Instance(g, "POST", "/proxy/set/{name}", (_, evo, i, body) => evo.SetProxy(i, body));
        Instance(g, "GET", "/webhook/find/{name}", (_, evo, i, _) => Results.Json(evo.WebhookRow(i)));
        Instance(g, "POST", "/message/sendText/{name}", (_, evo, i, body) => evo.SendText(i, body));
        Instance(g, "POST", "/message/sendMedia/{name}", (_, evo, i, body) => evo.SendMedia(i, body));
        Instance(g, "POST", "/chat/whatsappNumbers/{name}", (_, evo, i, body) => evo.WhatsAppNumbers(i, body));

        g.MapFallback((HttpContext http) => EvolutionEmulator.Error(404, "Not Found", new[] { $"Cannot {http.Request.Method} {http.Request.Path}" }));
    }

    /// <summary>The guard chain of index.router.ts: instance exists → (logged) → API key. Existence runs first.</summary>
    private static void Instance(RouteGroupBuilder g, string method, string pattern, Func<HttpContext, EvolutionEmulator, EvolutionInstance, JsonElement, IResult> handler) =>
        g.MapMethods(pattern, [method], async (HttpContext http, string name, EvolutionEmulator evo, IOptions<EmulatorOptions> o) =>
        {
            var instance = evo.Find(name);
            if (instance is null) return EvolutionEmulator.Error(404, "Not Found", new[] { $"The \"{name}\" instance does not exist" });
            var key = http.Request.Headers["apikey"].ToString();
            if (!IsGlobal(http, o) && key != instance.Token) return Unauthorized();
            var body = default(JsonElement);
            if (method == "POST")
            {
                var (parsed, error) = await ReadAsync(http);
                if (error is not null) return error;
                body = parsed;
            }
            return handler(http, evo, instance, body);
        });

    private static bool IsGlobal(HttpContext http, IOptions<EmulatorOptions> o) => http.Request.Headers["apikey"] == o.Value.EvolutionApiKey;

    private static IResult Unauthorized() =>
        Results.Json(new { status = 401, error = "Unauthorized", response = new { message = "Unauthorized" } }, statusCode: 401);

    /// <summary>Express's body parser: an empty body is {}, malformed JSON is a 400 in the error envelope.</summary>
    private static async Task<(JsonElement Body, IResult? Error)> ReadAsync(HttpContext http)
    {
        try
        {
            using var reader = new StreamReader(http.Request.Body);
            var text = await reader.ReadToEndAsync(http.RequestAborted);
            if (string.IsNullOrWhiteSpace(text)) return (JsonDocument.Parse("{}").RootElement, null);
            return (JsonDocument.Parse(text).RootElement.Clone(), null);
        }
        catch (JsonException ex)
        {
            return (default, Results.Json(new { status = 400, error = "Internal Server Error", response = new { message = ex.Message } }, statusCode: 400));
        }
    }
}
