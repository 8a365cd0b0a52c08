using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;
using ZapHub.IntegrationTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace ZapHub.BrowserTests;

/// <summary>A platform builds WhatsApp onboarding into its own app: its backend holds a platform key, its page a few lines of script.</summary>
public class EmbeddingTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    /// <summary>An operator's part (a gateway, a platform key), then the platform's backend alone: a tenant, its webhook, a number with the platform's reference.</summary>
    private static async Task<(HttpClient Platform, Guid Number, string Instance, string? WebhookSecret)> PlatformSetupAsync(ZapHubApp app, EmulatorHost emulator, string slug,
        string[] embedOrigins, string? webhookUrl = null)
    {
        await app.RegisterEmulatorAsync(emulator);
        var key = await app.CreatePlatformKeyAsync();
        var tenant = await Http.JsonAsync(await app.WithPlatformKey(key).PostAsJsonAsync("/api/v1/admin/tenants",
            new { name = "Barbearia do Zé", slug, embedOrigins, brandColor = "#7a3fc4" }), HttpStatusCode.Created);
        var platform = app.WithPlatformKey(key, slug);
        var secret = webhookUrl is null ? null
            : (await Http.JsonAsync(await platform.PostAsJsonAsync("/api/v1/webhooks", new { url = webhookUrl, eventTypes = new[] { "session.state_changed" } }), HttpStatusCode.Created))
                .GetProperty("secret").GetString();
        var number = await Http.JsonAsync(await platform.PostAsJsonAsync("/api/v1/sessions",
            new { displayName = "Recepção", kind = "Evolution", reference = "cliente-42", metadata = new { plano = "ouro" } }), HttpStatusCode.Created);
        Assert.Equal(JsonValueKind.Null, tenant.GetProperty("ownerEmail").ValueKind);
        return (platform, number.GetProperty("id").GetGuid(), number.GetProperty("instanceName").GetString()!, secret);
    }

    private static async Task<JsonElement> LinkAsync(HttpClient platform, Guid number, object? options = null) =>
        await Http.JsonAsync(await platform.PostAsJsonAsync($"/api/v1/sessions/{number}/connect-links", options ?? new { }), HttpStatusCode.Created);

    [Fact]
    public async Task APlatformKeyAloneConnectsANumberThroughAHostedLinkAndReceivesTheSignedWebhookWithItsReference()
    {
        await using var emulator = await EmulatorHost.StartAsync();
        await using var receiver = await SignedReceiver.StartAsync();
        await using var app = new ZapHubApp().With("Webhooks:AllowPrivateTargets", "true").CaptureLogs();
        var baseUrl = app.ServeOverKestrel();
        var (platform, number, instance, secret) = await PlatformSetupAsync(app, emulator, "barbearia-ze", ["https://app.agenda.test"], receiver.Url);
        receiver.Secrets.Add(secret!);
        var link = await LinkAsync(platform, number, new { returnUrl = "https://app.agenda.test/whatsapp?cliente=42" });
        var url = link.GetProperty("url").GetString()!;
        Assert.StartsWith(baseUrl.ToString().TrimEnd('/') + "/connect/zcl_", url);

        // The business owner opens the link on a phone: no account, the platform's tenant name, the live QR.
        var page = await browser.NewPageAsync(baseUrl, BrowserFixture.Phone);
        // The platform's own app, where the page sends the person back.
        await page.RouteAsync("https://app.agenda.test/**", route => route.FulfillAsync(new() { Body = "<h1>Agenda</h1>", ContentType = "text/html" }));
        await page.GotoAsync(url);
        // Waited as a person waits for a page on a slow phone: the circuit may take a while on a busy machine.
        await Expect(page.GetByTestId("link-tenant")).ToHaveTextAsync("Barbearia do Zé", new() { Timeout = 30_000 });
        await Expect(page.Locator("h1")).ToHaveTextAsync("Conecte o WhatsApp de Recepção");
        await Expect(page.GetByTestId("qr-image")).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await BrowserFixture.AssertFitsAsync(page);
        await BrowserFixture.ScreenshotAsync(page, "connect-link-phone");

        await Http.ExpectAsync(await emulator.ScanAsync("evolution", instance), HttpStatusCode.OK);
        await Expect(page.GetByText("Conectado!")).ToBeVisibleAsync(new() { Timeout = 30_000 });
        // Opened on its own (not framed), the page then goes back to the platform with the outcome.
        await page.WaitForURLAsync($"https://app.agenda.test/whatsapp?cliente=42&zaphub_outcome=connected&zaphub_session={number}", new() { Timeout = 30_000, WaitUntil = WaitUntilState.Commit });
        var hit = await receiver.WaitForAsync(h => h.Type == "session.state_changed" && h.Body.GetProperty("data").GetProperty("state").GetString() == "connected",
            "the signed session.state_changed webhook", TimeSpan.FromSeconds(60));
        Assert.True(hit.SignatureValid);
        Assert.Equal("cliente-42", hit.Body.GetProperty("data").GetProperty("reference").GetString());
        Assert.Equal("ouro", hit.Body.GetProperty("data").GetProperty("metadata").GetProperty("plano").GetString());

        // Used up: opened again, it says so; the link never reached a log line.
        var again = await browser.NewPageAsync(baseUrl);
        await again.GotoAsync(url);
        await Expect(again.GetByTestId("link-ended")).ToContainTextAsync("Este link já foi usado", new() { Timeout = 30_000 });
        var token = url[(url.IndexOf("/connect/", StringComparison.Ordinal) + "/connect/".Length)..];
        Assert.DoesNotContain(app.Logs!.Lines, l => l.Contains(token));
        Assert.Contains(app.Logs.Lines, l => l.Contains("zcl_***"));
    }

    [Fact]
    public async Task TheWidgetConnectsInsideAnAllowedSiteAndABrowserRefusesItAnywhereElse()
    {
        await using var emulator = await EmulatorHost.StartAsync();
        await using var app = new ZapHubApp();
        var baseUrl = app.ServeOverKestrel();
        await using var allowed = await HostPage.StartAsync(baseUrl);
        await using var stranger = await HostPage.StartAsync(baseUrl);
        var (platform, number, instance, _) = await PlatformSetupAsync(app, emulator, "barbearia-ze", [allowed.Origin]);

        var page = await browser.NewPageAsync(baseUrl);
        await page.GotoAsync(allowed.UrlFor((await LinkAsync(platform, number)).GetProperty("url").GetString()!));
        await page.GetByText("Conectar WhatsApp").ClickAsync();
        var frame = page.FrameLocator("iframe[title='WhatsApp']");
        await Expect(frame.GetByTestId("qr-image")).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await BrowserFixture.ScreenshotAsync(page, "connect-widget-desktop");
        await Http.ExpectAsync(await emulator.ScanAsync("evolution", instance), HttpStatusCode.OK);
        await page.WaitForFunctionAsync("() => window.result !== null", null, new() { Timeout = 30_000 });
        Assert.Equal("connected", await page.EvaluateAsync<string>("() => window.result.outcome"));
        Assert.Equal(number.ToString(), await page.EvaluateAsync<string>("() => window.result.sessionId"));
        Assert.Equal(["connected"], await page.EvaluateAsync<string[]>("() => window.events"));
        await Expect(page.Locator("#status")).ToHaveTextAsync("WhatsApp conectado!");
        await Expect(page.Locator("[data-zaphub=connect]")).ToHaveCountAsync(0);

        // The same page on an origin the tenant did not allow: the browser does not show the link at all, and nothing is said to it.
        var strangerPage = await browser.NewPageAsync(baseUrl);
        await strangerPage.GotoAsync(stranger.UrlFor((await LinkAsync(platform, number)).GetProperty("url").GetString()!));
        var refused = strangerPage.WaitForResponseAsync(r => r.Url.Contains("/connect/zcl_"));
        await strangerPage.GetByText("Conectar WhatsApp").ClickAsync();
        var answer = await refused;
        Assert.Equal($"frame-ancestors {allowed.Origin}", answer.Headers["content-security-policy"]);
        await Eventually.WaitAsync(() => Task.FromResult(strangerPage.Frames.Count > 1 && strangerPage.Frames[1].Url.StartsWith("chrome-error://", StringComparison.Ordinal)),
            blocked => blocked, "the browser to refuse the frame");
        Assert.Equal(0, await strangerPage.Locator("iframe").First.EvaluateAsync<int>("f => { try { return f.contentDocument ? f.contentDocument.querySelectorAll('[data-testid=qr-panel]').length : 0; } catch (e) { return 0; } }"));
        Assert.Empty(await strangerPage.EvaluateAsync<string[]>("() => window.events"));
    }

    [Fact]
    public async Task AnOwnerMakesALinkForWhoeverHoldsThePhoneAndTheyConnectWithoutAnAccount()
    {
        await using var emulator = await EmulatorHost.StartAsync();
        await using var app = new ZapHubApp();
        var baseUrl = app.ServeOverKestrel();
        await app.RegisterEmulatorAsync(emulator);
        await app.OnlyGatewaysOfKindAsync("Evolution");
        var t = await app.CreateTenantAsync();
        var number = await t.CreateSessionAsync("Recepção");
        var (id, instance) = (number.GetProperty("id").GetGuid(), number.GetProperty("instanceName").GetString()!);

        var owner = await browser.NewPageAsync(baseUrl);
        await new Pages.LoginPage(owner).OpenAsync();
        await new Pages.LoginPage(owner).SignInAsync(t.OwnerEmail, t.OwnerPassword);
        await owner.GotoAsync($"/whatsapp/{id}");
        await owner.GetByTestId("detail-link").ClickAsync(new() { Timeout = 30_000 });
        var url = await owner.GetByTestId("one-time-secret").InnerTextAsync();
        Assert.Contains("/connect/zcl_", url);

        var receptionist = await browser.NewPageAsync(baseUrl, BrowserFixture.Phone);
        await receptionist.GotoAsync(url);
        await Expect(receptionist.GetByTestId("qr-image")).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await Http.ExpectAsync(await emulator.ScanAsync("evolution", instance), HttpStatusCode.OK);
        await Expect(receptionist.GetByText("Conectado!")).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await Expect(owner.GetByTestId("detail-phone")).ToHaveTextAsync("(11) 99999-0001", new() { Timeout = 30_000 });
    }

    [Fact]
    public async Task ExpiredRevokedAndUnknownLinksSayWhatHappenedInTheLinksLanguage()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var emulator = await EmulatorHost.StartAsync();
        await using var app = new ZapHubApp().UseClock(clock);
        var baseUrl = app.ServeOverKestrel();
        var (platform, number, _, _) = await PlatformSetupAsync(app, emulator, "barbearia-ze", []);
        var expiring = (await LinkAsync(platform, number, new { expiresInMinutes = 5 })).GetProperty("url").GetString()!;
        var english = (await LinkAsync(platform, number, new { expiresInMinutes = 5, locale = "en" })).GetProperty("url").GetString()!;
        var revoked = await LinkAsync(platform, number);
        await Http.ExpectAsync(await platform.DeleteAsync($"/api/v1/sessions/{number}/connect-links/{revoked.GetProperty("id").GetGuid()}"), HttpStatusCode.NoContent);
        clock.Advance(TimeSpan.FromMinutes(10));

        var page = await browser.NewPageAsync(baseUrl, BrowserFixture.Phone);
        await page.GotoAsync(expiring);
        await Expect(page.GetByTestId("link-ended")).ToContainTextAsync("Este link expirou", new() { Timeout = 30_000 });
        await Expect(page.GetByTestId("link-ended")).ToContainTextAsync("Peça um novo link a quem enviou este.");
        await BrowserFixture.ScreenshotAsync(page, "connect-link-expired-phone");
        await page.GotoAsync(english);
        await Expect(page.GetByTestId("link-ended")).ToContainTextAsync("This link has expired", new() { Timeout = 30_000 });
        await page.GotoAsync(revoked.GetProperty("url").GetString()!);
        await Expect(page.GetByTestId("link-ended")).ToContainTextAsync("Este link foi cancelado", new() { Timeout = 30_000 });
        await page.GotoAsync("/connect/zcl_" + new string('x', 43));
        await Expect(page.GetByTestId("link-ended")).ToContainTextAsync("Este link não existe", new() { Timeout = 30_000 });

        var links = await Http.JsonAsync(await platform.GetAsync($"/api/v1/sessions/{number}/connect-links"), HttpStatusCode.OK);
        Assert.Equal(["revoked", "expired", "expired"], links.EnumerateArray().Select(l => l.GetProperty("status").GetString()!));
        Assert.All(links.EnumerateArray(), l => Assert.Equal(JsonValueKind.Null, l.GetProperty("url").ValueKind));
    }
}
