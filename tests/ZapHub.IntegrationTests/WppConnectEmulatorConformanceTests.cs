using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using ZapHub.IntegrationTests.Infrastructure;

namespace ZapHub.IntegrationTests;

/// <summary>The emulator answers as shared/contracts/wppconnect-server.md says WPPConnect Server 2.10.4 does.</summary>
public class WppConnectEmulatorConformanceTests
{
    private static Task<string> TokenAsync(EmulatorHost e, string session) => e.WppTokenAsync(session);

    private static HttpRequestMessage Authed(HttpMethod method, string session, string action, string token, object? body = null) =>
        EmulatorHost.Wpp(method, session, action, token, body);

    private static async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(EmulatorHost e, HttpRequestMessage request)
    {
        var response = await e.Http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    [Fact]
    public async Task TokensAreBcryptHashesTiedToOneSessionAndNeverExpire()
    {
        await using var e = await EmulatorHost.StartAsync();
        var response = await e.Http.PostAsync($"/wppconnect/api/mysession/{EmulatorHost.WppSecret}/generate-token", null);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var token = body.GetProperty("token").GetString()!;
        Assert.Equal("success", body.GetProperty("status").GetString());
        Assert.StartsWith("$2b$10$", token);
        Assert.DoesNotContain('/', token);
        Assert.Equal($"mysession:{token}", body.GetProperty("full").GetString());

        var second = await TokenAsync(e, "mysession");
        Assert.NotEqual(token, second);
        Assert.Equal(HttpStatusCode.OK, (await e.Http.SendAsync(Authed(HttpMethod.Get, "mysession", "status-session", token))).StatusCode);
        var (otherStatus, other) = await SendAsync(e, Authed(HttpMethod.Get, "MYSESSION", "status-session", token));
        Assert.Equal(HttpStatusCode.Unauthorized, otherStatus);
        Assert.Equal("Check that the Session and Token are correct", other.GetProperty("error").GetString());

        var wrong = await e.Http.PostAsync("/wppconnect/api/mysession/WRONG/generate-token", null);
        Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        Assert.Equal("The SECRET_KEY is incorrect", (await wrong.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
    }

    [Fact]
    public async Task MissingOrMalformedAuthAnswersLikeTheServer()
    {
        await using var e = await EmulatorHost.StartAsync();
        var token = await TokenAsync(e, "s1");
        var (noHeader, body) = await SendAsync(e, new HttpRequestMessage(HttpMethod.Get, "/wppconnect/api/s1/status-session"));
        Assert.Equal(HttpStatusCode.Unauthorized, noHeader);
        Assert.Equal("Token is not present. Check your header and try again", body.GetProperty("message").GetString());
        var full = new HttpRequestMessage(HttpMethod.Get, "/wppconnect/api/s1/status-session");
        full.Headers.TryAddWithoutValidation("Authorization", $"Bearer s1:{token}");
        Assert.Equal(HttpStatusCode.Unauthorized, (await e.Http.SendAsync(full)).StatusCode);
        // The session:token form in the path wins over the header.
        var inPath = await e.Http.GetAsync($"/wppconnect/api/s1:{token}/status-session");
        Assert.Equal(HttpStatusCode.OK, inPath.StatusCode);
    }

    [Fact]
    public async Task BcryptReadsOnly72BytesSoLongSessionNamesCanBeForged()
    {
        await using var e = await EmulatorHost.StartAsync();
        var name = new string('a', 72);
        var forged = BCrypt.Net.BCrypt.HashPassword(name, BCrypt.Net.BCrypt.GenerateSalt(10, 'b')).Replace('/', '_').Replace('+', '-');
        Assert.Equal(HttpStatusCode.OK, (await e.Http.SendAsync(Authed(HttpMethod.Get, name, "status-session", forged))).StatusCode);
    }

    [Fact]
    public async Task StartSessionAnswersClosedAtOnceThenTheQrAppears()
    {
        await using var sink = await WebhookSink.StartAsync();
        await using var e = await EmulatorHost.StartAsync();
        var token = await TokenAsync(e, "s1");
        var (status, started) = await SendAsync(e, Authed(HttpMethod.Post, "s1", "start-session", token, new { webhook = new Uri(sink.BaseAddress, "/hook/s1").ToString() }));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("""{"status":"CLOSED","qrcode":null}""", started.GetRawText());

        var qr = await Eventually.WaitAsync(async () => (await SendAsync(e, Authed(HttpMethod.Get, "s1", "status-session", token))).Body,
            s => s.GetProperty("status").GetString() == "QRCODE", "QRCODE");
        Assert.StartsWith("data:image/png;base64,", qr.GetProperty("qrcode").GetString());
        Assert.Equal("2.10.4", qr.GetProperty("version").GetString());

        var png = await e.Http.SendAsync(Authed(HttpMethod.Get, "s1", "qrcode-session", token));
        Assert.Equal("image/png", png.Content.Headers.ContentType?.MediaType);
        var again = await SendAsync(e, Authed(HttpMethod.Post, "s1", "start-session", token, new { }));
        Assert.Equal("QRCODE", again.Body.GetProperty("status").GetString());

        var webhook = await sink.WaitForAsync(r => r.Body.GetProperty("event").GetString() == "qrcode", "qrcode webhook");
        Assert.Equal("/hook/s1", webhook.Path);
        Assert.Equal("s1", webhook.Body.GetProperty("session").GetString());
        Assert.False(webhook.Body.GetProperty("qrcode").GetString()!.StartsWith("data:"), "webhook QR is raw base64");
        Assert.StartsWith("2@", webhook.Body.GetProperty("urlcode").GetString());
        await sink.WaitForAsync(r => r.Body.GetProperty("event").GetString() == "status-find" && r.Body.GetProperty("status").GetString() == "notLogged", "notLogged");
    }

    [Fact]
    public async Task QrcodeSessionAnswersJsonWhenThereIsNoQr()
    {
        await using var e = await EmulatorHost.StartAsync();
        var token = await TokenAsync(e, "s1");
        var response = await e.Http.SendAsync(Authed(HttpMethod.Get, "s1", "qrcode-session", token));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(JsonValueKind.Null, body.GetProperty("status").ValueKind);
        Assert.StartsWith("Session not started", body.GetProperty("message").GetString());
        var status = (await SendAsync(e, Authed(HttpMethod.Get, "s1", "status-session", token))).Body;
        Assert.Equal("""{"status":"CLOSED","qrcode":null}""", status.GetRawText());
    }

    [Fact]
    public async Task MessagingNeedsAConnectedSessionAndAKnownNumber()
    {
        await using var sink = await WebhookSink.StartAsync();
        await using var e = await EmulatorHost.StartAsync();
        var token = await TokenAsync(e, "s1");
        var (notActive, body) = await SendAsync(e, Authed(HttpMethod.Post, "s1", "send-message", token, new { phone = "5511988887777", message = "x" }));
        Assert.Equal(HttpStatusCode.NotFound, notActive);
        Assert.Equal("A sessão do WhatsApp não está ativa.", body.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await e.Http.SendAsync(Authed(HttpMethod.Post, "s1", "logout-session", token))).StatusCode);

        await e.Http.SendAsync(Authed(HttpMethod.Post, "s1", "start-session", token, new { webhook = new Uri(sink.BaseAddress, "/hook").ToString() }));
        await Eventually.WaitAsync(async () => (await SendAsync(e, Authed(HttpMethod.Get, "s1", "status-session", token))).Body,
            s => s.GetProperty("status").GetString() == "QRCODE", "QRCODE");
        await e.ScanAsync("wppconnect", "s1");
        await sink.WaitForAsync(r => r.Body.GetProperty("event").GetString() == "status-find" && r.Body.GetProperty("status").GetString() == "inChat", "inChat");

        var (sentStatus, sent) = await SendAsync(e, Authed(HttpMethod.Post, "s1", "send-message", token, new { phone = "5511988887777", message = "Olá" }));
        Assert.Equal(HttpStatusCode.Created, sentStatus);
        Assert.Equal("return", sent.GetProperty("mapper").GetString());
        var id = sent.GetProperty("response")[0].GetProperty("id").GetString()!;
        Assert.StartsWith("true_5511988887777@c.us_", id);
        var ack = await sink.WaitForAsync(r => r.Body.GetProperty("event").GetString() == "onack", "onack");
        Assert.Equal(id, ack.Body.GetProperty("id").GetProperty("_serialized").GetString());

        var (unknownStatus, unknown) = await SendAsync(e, Authed(HttpMethod.Post, "s1", "send-message", token, new { phone = "0001234", message = "x" }));
        Assert.Equal(HttpStatusCode.BadRequest, unknownStatus);
        Assert.Equal("O número 0001234 não existe.", unknown.GetProperty("message").GetString());
        var (_, check) = await SendAsync(e, Authed(HttpMethod.Get, "s1", "check-number-status/5511988887777", token));
        Assert.True(check.GetProperty("response").GetProperty("numberExists").GetBoolean());
        var (noFile, _) = await SendAsync(e, Authed(HttpMethod.Post, "s1", "send-file-base64", token, new { phone = "5511988887777" }));
        Assert.Equal(HttpStatusCode.Unauthorized, noFile);
    }

    [Fact]
    public async Task ClosingASessionStuckInInitializingAnswers500ButResetsIt()
    {
        await using var e = await EmulatorHost.StartAsync();
        await e.FaultsAsync(new { stallStarts = true });
        var token = await TokenAsync(e, "s1");
        await e.Http.SendAsync(Authed(HttpMethod.Post, "s1", "start-session", token, new { }));
        Assert.Equal("INITIALIZING", (await SendAsync(e, Authed(HttpMethod.Get, "s1", "status-session", token))).Body.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.InternalServerError, (await e.Http.SendAsync(Authed(HttpMethod.Post, "s1", "close-session", token))).StatusCode);
        var (_, restarted) = await SendAsync(e, Authed(HttpMethod.Post, "s1", "start-session", token, new { }));
        Assert.Equal("""{"status":null,"qrcode":null,"version":"2.10.4"}""", restarted.GetRawText());
    }

    [Fact]
    public async Task ExpressDefaultsAnswerHtmlAndExactJsonRequestsGetASessionField()
    {
        await using var e = await EmulatorHost.StartAsync();
        var token = await TokenAsync(e, "s1");
        var malformed = Authed(HttpMethod.Post, "s1", "start-session", token);
        malformed.Content = new StringContent("{", Encoding.UTF8, "application/json");
        var response = await e.Http.SendAsync(malformed);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        var unknown = await e.Http.GetAsync("/wppconnect/nope");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("Cannot GET", await unknown.Content.ReadAsStringAsync());

        var exact = Authed(HttpMethod.Post, "s1", "close-session", token);
        exact.Content = new StringContent("{}");
        exact.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var withSession = await (await e.Http.SendAsync(exact)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("s1", withSession.GetProperty("session").GetString());
        var charset = await (await e.Http.SendAsync(Authed(HttpMethod.Post, "s1", "close-session", token, new { }))).Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(charset.TryGetProperty("session", out _));
    }

    [Fact]
    public async Task AutoCloseEndsAnUnscannedLogin()
    {
        await using var sink = await WebhookSink.StartAsync();
        await using var e = await EmulatorHost.StartAsync(("WppAutoClose", "00:00:00.300"));
        var token = await TokenAsync(e, "s1");
        await e.Http.SendAsync(Authed(HttpMethod.Post, "s1", "start-session", token, new { webhook = new Uri(sink.BaseAddress, "/hook").ToString() }));
        await sink.WaitForAsync(r => r.Body.GetProperty("event").GetString() == "status-find" && r.Body.GetProperty("status").GetString() == "autocloseCalled", "autocloseCalled");
        Assert.Equal("CLOSED", (await SendAsync(e, Authed(HttpMethod.Get, "s1", "status-session", token))).Body.GetProperty("status").GetString());
    }
}
