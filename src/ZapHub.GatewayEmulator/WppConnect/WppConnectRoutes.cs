using System.Text.Json;
using Microsoft.Extensions.Options;

namespace ZapHub.GatewayEmulator.WppConnect;

public static class WppConnectRoutes
{
    public static void Map(RouteGroupBuilder g)
    {
        g.MapGet("/healthz", (TimeProvider time) => Results.Ok(new { uptime = 1.0, message = "OK", timestamp = time.GetUtcNow().ToUnixTimeMilliseconds() }));
        g.MapPost("/api/{session}/{secretkey}/generate-token", (string session, string secretkey, WppConnectEmulator wpp) => wpp.GenerateToken(session, secretkey));
        g.MapGet("/api/{secretkey}/show-all-sessions", (string secretkey, WppConnectEmulator wpp, IOptions<EmulatorOptions> o) =>
            secretkey == o.Value.WppSecretKey
                ? Results.Ok(new { response = wpp.StoredSessions })
                : Results.Json(new { response = false, message = "The token is incorrect" }, statusCode: 400));

        // Checks the secret in the path, and (quirk) acts even when it is wrong.
        g.MapPost("/api/{session}/{secretkey}/clear-session-data", (string session, string secretkey, WppConnectEmulator wpp) => wpp.ClearSessionData(session, secretkey));
        Authed(g, "GET", "/api/{session}/host-device", (http, wpp, s, _) => Task.FromResult(wpp.HostDevice(s, http)));
        Authed(g, "POST", "/api/{session}/start-session", (http, wpp, s, body) => wpp.StartAsync(s, body, http));
        Authed(g, "GET", "/api/{session}/status-session", (http, wpp, s, _) => Task.FromResult(WppConnectEmulator.Json(http, wpp.StatusShape(wpp.Find(s)))));
        Authed(g, "GET", "/api/{session}/qrcode-session", (http, wpp, s, _) => Task.FromResult(wpp.QrCode(s, http)));
        Authed(g, "GET", "/api/{session}/check-connection-session", (http, wpp, s, _) => Task.FromResult(wpp.CheckConnection(s, http)));
        Authed(g, "POST", "/api/{session}/logout-session", (http, wpp, s, _) => Task.FromResult(wpp.Logout(s, http)));
        Authed(g, "POST", "/api/{session}/close-session", (http, wpp, s, _) => Task.FromResult(wpp.Close(s, http)));
        Authed(g, "POST", "/api/{session}/send-message", (http, wpp, s, body) => Task.FromResult(wpp.SendMessage(s, body, http)));
        foreach (var route in new[] { "send-file-base64", "send-file", "send-image" })
            Authed(g, "POST", "/api/{session}/" + route, (http, wpp, s, body) => Task.FromResult(wpp.SendFile(s, body, http)));
        Authed(g, "GET", "/api/{session}/check-number-status/{phone}", (http, wpp, s, _) =>
            Task.FromResult(wpp.CheckNumber(s, http.Request.RouteValues["phone"]?.ToString() ?? "", http)));

        // Express's defaults: HTML bodies for unknown routes.
        g.MapFallback((HttpContext http) => Results.Content(
            $"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Error</title>\n</head>\n<body>\n<pre>Cannot {http.Request.Method} {http.Request.Path}</pre>\n</body>\n</html>\n",
            "text/html; charset=utf-8", statusCode: 404));
    }

    /// <summary>verifyToken: Bearer header, or "session:token" in the path segment (which then wins).</summary>
    private static void Authed(RouteGroupBuilder g, string method, string pattern, Func<HttpContext, WppConnectEmulator, string, JsonElement, Task<IResult>> handler) =>
        g.MapMethods(pattern, [method], async (HttpContext http, string session, WppConnectEmulator wpp) =>
        {
            string token;
            if (session.Contains(':'))
            {
                (session, token) = (session[..session.IndexOf(':')], session[(session.IndexOf(':') + 1)..]);
                http.Request.RouteValues["session"] = session;
            }
            else
            {
                var header = http.Request.Headers.Authorization.ToString();
                var parts = header.Split(' ');
                if (!header.StartsWith("Bearer ", StringComparison.Ordinal) || parts.Length < 2 || parts[1].Length == 0)
                    return Results.Json(new { message = "Token is not present. Check your header and try again" }, statusCode: 401);
                token = parts[1];
            }
            if (!wpp.Verify(session, token))
                return Results.Json(new { error = "Check that the Session and Token are correct" }, statusCode: 401);

            var body = default(JsonElement);
            if (method == "POST")
            {
                try
                {
                    using var reader = new StreamReader(http.Request.Body);
                    var text = await reader.ReadToEndAsync(http.RequestAborted);
                    body = JsonDocument.Parse(string.IsNullOrWhiteSpace(text) ? "{}" : text).RootElement.Clone();
                }
                catch (JsonException ex)
                {
                    return Results.Content($"<!DOCTYPE html>\n<html lang=\"en\">\n<body>\n<pre>SyntaxError: {System.Net.WebUtility.HtmlEncode(ex.Message)}</pre>\n</body>\n</html>\n", "text/html; charset=utf-8", statusCode: 400);
                }
            }
            return await handler(http, wpp, session, body);
        });
}
