using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using ZapHub.BrowserTests.Pages;
using ZapHub.IntegrationTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace ZapHub.BrowserTests;

/// <summary>The README's journey in a real browser, in demo mode: the built-in emulator plays the phone.</summary>
public class WhatsAppTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Theory]
    [InlineData("evolution", "Evolution")]
    [InlineData("wppconnect", "WppConnect")]
    public async Task OwnerConnectsANumberByQrSeesItLiveSendsATestAndSeesTheUnlink(string provider, string kind)
    {
        await using var app = new ZapHubApp().With("Demo:Enabled", "true");
        var baseUrl = app.ServeOverKestrel();
        var a = await app.CreateTenantAsync();
        var b = await app.CreateTenantAsync();

        var page = await browser.NewPageAsync(baseUrl);
        await new LoginPage(page).OpenAsync();
        await new LoginPage(page).SignInAsync(a.OwnerEmail, a.OwnerPassword);
        var numbers = new WhatsAppPage(page);
        await numbers.OpenAsync();

        // Tenant B watches its own page at the same time.
        var other = await browser.NewPageAsync(baseUrl);
        await new LoginPage(other).OpenAsync();
        await new LoginPage(other).SignInAsync(b.OwnerEmail, b.OwnerPassword);
        var otherNumbers = new WhatsAppPage(other);
        await otherNumbers.OpenAsync();

        await app.OnlyGatewaysOfKindAsync(kind);
        // The owner also has the page open on a phone: every state below is seen (and captured) at both widths.
        var phone = await browser.NewPageAsync(baseUrl, BrowserFixture.Phone);
        await new LoginPage(phone).OpenAsync();
        await new LoginPage(phone).SignInAsync(a.OwnerEmail, a.OwnerPassword);
        await new WhatsAppPage(phone).OpenAsync();

        await numbers.AddNumberAsync("Recepção Centro");
        await Expect(numbers.QrImage).ToBeVisibleAsync();
        await Expect(page.GetByTestId("qr-countdown")).ToContainTextAsync("s");
        await BrowserFixture.ScreenshotAsync(page, $"whatsapp-qr-{provider}-desktop");
        await Expect(new WhatsAppPage(phone).Status("Recepção Centro")).ToHaveTextAsync("Aguardando leitura do QR");
        await BrowserFixture.ScreenshotAsync(phone, $"whatsapp-awaiting-scan-{provider}-phone");
        await page.EvaluateAsync("window.__noReload = true");

        var session = (await a.Owner.GetFromJsonAsync<JsonElement>("/api/v1/sessions"))[0];
        var instance = session.GetProperty("instanceName").GetString();
        var scan = await app.Anonymous().PostAsJsonAsync($"/emulator/_emulator/{provider}/{instance}/scan", new { phone = "5511999990001", profileName = "Barbearia" });
        Assert.True(scan.IsSuccessStatusCode);

        await Expect(numbers.Status("Recepção Centro")).ToHaveTextAsync("Conectado");
        // WPPConnect's webhooks never carry the account's own number (see the contract): ZapHub reads it from the gateway.
        await Expect(numbers.Phone("Recepção Centro")).ToHaveTextAsync("(11) 99999-0001");
        await Expect(numbers.Dialog).ToHaveCountAsync(0);
        Assert.True(await page.EvaluateAsync<bool>("window.__noReload === true"), "the page reloaded");
        await BrowserFixture.ScreenshotAsync(page, $"whatsapp-connected-{provider}-desktop");

        await numbers.SendTestAsync("Recepção Centro", "(11) 98888-7777");
        await Expect(numbers.Notice).ToContainTextAsync("(11) 98888-7777");
        var received = await app.Anonymous().GetFromJsonAsync<JsonElement>($"/emulator/_emulator/messages?instance={instance}");
        Assert.Contains(received.EnumerateArray(), m => m.GetProperty("to").GetString() == "5511988887777");

        await Expect(new WhatsAppPage(phone).Status("Recepção Centro")).ToHaveTextAsync("Conectado");
        await BrowserFixture.ScreenshotAsync(phone, $"whatsapp-connected-{provider}-phone");

        await app.Anonymous().PostAsync($"/emulator/_emulator/{provider}/{instance}/unlink", null);
        await Expect(numbers.Status("Recepção Centro")).ToHaveTextAsync("Desconectado");
        await Expect(new WhatsAppPage(phone).Status("Recepção Centro")).ToHaveTextAsync("Desconectado");
        await BrowserFixture.ScreenshotAsync(page, $"whatsapp-disconnected-{provider}-desktop");
        await BrowserFixture.ScreenshotAsync(phone, $"whatsapp-disconnected-{provider}-phone");

        // Tenant B saw none of it.
        await Expect(otherNumbers.Cards).ToHaveCountAsync(0);
        Assert.DoesNotContain("Recepção Centro", await other.ContentAsync());
    }

    [Fact]
    public async Task TheQrCodeRefreshesOnItsOwnWhenItExpires()
    {
        await using var app = new ZapHubApp().With("Demo:Enabled", "true").With("Emulator:EvolutionQrInterval", "00:00:02");
        var baseUrl = app.ServeOverKestrel();
        var a = await app.CreateTenantAsync();
        var page = await browser.NewPageAsync(baseUrl);
        await new LoginPage(page).OpenAsync();
        await new LoginPage(page).SignInAsync(a.OwnerEmail, a.OwnerPassword);
        var numbers = new WhatsAppPage(page);
        await numbers.OpenAsync();
        await app.OnlyGatewaysOfKindAsync("Evolution");
        await numbers.AddNumberAsync("Balcão");
        await Expect(numbers.QrImage).ToBeVisibleAsync();
        var first = await numbers.QrImage.GetAttributeAsync("src");
        // Codes change every 2 s here: on a busy machine the page may already show the second, or skip one.
        var counter = page.GetByText(new System.Text.RegularExpressions.Regex(@"^Código \d+ de"));
        var shown = await counter.TextContentAsync();
        await page.EvaluateAsync("window.__noReload = true");
        await Expect(counter).Not.ToHaveTextAsync(shown!);
        Assert.NotEqual(first, await numbers.QrImage.GetAttributeAsync("src"));
        Assert.True(await page.EvaluateAsync<bool>("window.__noReload === true"), "the page reloaded");
        await BrowserFixture.ScreenshotAsync(page, "whatsapp-qr-refreshed-desktop");
    }

    [Fact]
    public async Task APairingCodeConnectsWithoutTheCamera()
    {
        await using var app = new ZapHubApp().With("Demo:Enabled", "true");
        var baseUrl = app.ServeOverKestrel();
        var a = await app.CreateTenantAsync();
        var page = await browser.NewPageAsync(baseUrl, BrowserFixture.Phone);
        await new LoginPage(page).OpenAsync();
        await new LoginPage(page).SignInAsync(a.OwnerEmail, a.OwnerPassword);
        var numbers = new WhatsAppPage(page);
        await numbers.OpenAsync();
        await app.OnlyGatewaysOfKindAsync("Evolution");
        await numbers.AddNumberAsync("Celular");
        await page.GetByText("Usar um código de pareamento").ClickAsync();
        await page.GetByTestId("pairing-phone").FillAsync("(11) 97777-0001");
        await page.GetByTestId("pairing-submit").ClickAsync();
        var code = page.GetByTestId("pairing-code");
        await Expect(code).ToHaveTextAsync(new System.Text.RegularExpressions.Regex("^[A-Z0-9]{4}-[A-Z0-9]{4}$"));
        await BrowserFixture.ScreenshotAsync(page, "whatsapp-pairing-phone");

        var instance = (await a.Owner.GetFromJsonAsync<JsonElement>("/api/v1/sessions"))[0].GetProperty("instanceName").GetString();
        var paired = await app.Anonymous().PostAsJsonAsync($"/emulator/_emulator/evolution/{instance}/pair",
            new { code = (await code.TextContentAsync())!.Replace("-", ""), phone = "5511977770001" });
        Assert.True(paired.IsSuccessStatusCode);
        await Expect(numbers.Status("Celular")).ToHaveTextAsync("Conectado");
    }

    [Fact]
    public async Task ANumberIsConnectedFromItsOwnPageWithTheQrInlineAndTheOperatorSeesIt()
    {
        await using var app = new ZapHubApp().With("Demo:Enabled", "true");
        var baseUrl = app.ServeOverKestrel();
        var a = await app.CreateTenantAsync();
        var session = await a.CreateSessionAsync("Caixa", "Evolution");

        var page = await browser.NewPageAsync(baseUrl);
        await new LoginPage(page).OpenAsync();
        await new LoginPage(page).SignInAsync(a.OwnerEmail, a.OwnerPassword);
        await new WhatsAppPage(page).OpenAsync();
        await new WhatsAppPage(page).Card("Caixa").GetByTestId("open-detail").ClickAsync();
        await page.GetByTestId("detail-connect").ClickAsync();
        await Expect(page.GetByTestId("detail-qr").GetByTestId("qr-image")).ToBeVisibleAsync();
        await Expect(page.GetByTestId("qr-dialog")).ToHaveCountAsync(0);
        await BrowserFixture.ScreenshotAsync(page, "session-detail-qr-desktop");

        await app.Anonymous().PostAsJsonAsync($"/emulator/_emulator/evolution/{session.GetProperty("instanceName").GetString()}/scan", new { phone = "5511999990002" });
        await Expect(page.GetByTestId("detail-phone")).ToHaveTextAsync("(11) 99999-0002");
        await Expect(page.GetByTestId("detail-qr")).ToHaveCountAsync(0);
        // Newest first: the server's report that it connected, after the attempt it ended. How the attempt shows depends on
        // timing: the owner's request, the QR's report, or both (the gateway's report can overtake its own answer).
        var entries = page.GetByTestId("timeline").Locator("li");
        await Expect(entries.First).ToContainTextAsync("Conectado");
        await Expect(entries.First).ToContainTextAsync("Aviso do servidor");
        await Expect(entries.Last).ToContainTextAsync(new System.Text.RegularExpressions.Regex("Iniciando|Aguardando leitura do QR"));
        await BrowserFixture.ScreenshotAsync(page, "session-detail-desktop");

        var op = await browser.NewPageAsync(baseUrl);
        await new LoginPage(op).OpenAsync();
        await new LoginPage(op).SignInAsync(ZapHubApp.OperatorEmail, ZapHubApp.OperatorPassword);
        await op.GotoAsync("/admin/sessions");
        await Expect(op.GetByTestId("all-sessions-table")).ToContainTextAsync("Caixa");
        await Expect(op.GetByTestId("all-sessions-table")).ToContainTextAsync("(11) 99999-0002");
        await BrowserFixture.ScreenshotAsync(op, "operator-all-sessions-desktop");
    }
}
