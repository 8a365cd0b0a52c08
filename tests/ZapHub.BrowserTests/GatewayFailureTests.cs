using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using ZapHub.BrowserTests.Pages;
using ZapHub.IntegrationTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace ZapHub.BrowserTests;

/// <summary>
/// A real gateway failing as the real ones did (contracts: WPPConnect §7), seen in the dashboard: the owner gets a clear
/// end state instead of "Iniciando" forever, the operator gets what to clean on the server, and the retry works.
/// </summary>
public class GatewayFailureTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task AStartThatNeverFinishesShowsTheOwnerAnErrorTheOperatorTheLockedBrowserAndTheRetryConnects()
    {
        await using var app = new ZapHubApp().With("Demo:Enabled", "true")
            .With("Sessions:StartingTimeout", "00:00:03").With("Sessions:ReconcileInterval", "00:00:00.250").With("Sessions:TransitionalCheckInterval", "00:00:00.100");
        var baseUrl = app.ServeOverKestrel();
        var tenant = await app.CreateTenantAsync();
        var created = await tenant.CreateSessionAsync("Recepção", "WppConnect");
        var id = created.GetProperty("id").GetGuid();
        var instance = created.GetProperty("instanceName").GetString()!;
        var emulator = app.Anonymous();
        Assert.True((await emulator.PostAsJsonAsync($"/emulator/_emulator/wppconnect/{instance}/fault", new { mode = "unreachable" })).IsSuccessStatusCode);

        var page = await browser.NewPageAsync(baseUrl);
        await new LoginPage(page).OpenAsync();
        await new LoginPage(page).SignInAsync(tenant.OwnerEmail, tenant.OwnerPassword);
        var numbers = new WhatsAppPage(page);
        await numbers.OpenAsync();
        await numbers.Card("Recepção").GetByTestId("connect").ClickAsync();
        await Expect(numbers.Status("Recepção")).ToHaveTextAsync("Erro", new() { Timeout = 60_000 });
        if (await numbers.Dialog.CountAsync() > 0) await page.GetByTestId("qr-close").ClickAsync();
        await Expect(numbers.Card("Recepção").GetByTestId("number-reason")).ToContainTextAsync("não conseguiu iniciar a conexão a tempo");
        await BrowserFixture.ScreenshotAsync(page, "whatsapp-start-timeout-desktop");
        var phone = await browser.NewPageAsync(baseUrl, BrowserFixture.Phone);
        await new LoginPage(phone).OpenAsync();
        await new LoginPage(phone).SignInAsync(tenant.OwnerEmail, tenant.OwnerPassword);
        await new WhatsAppPage(phone).OpenAsync();
        await Expect(new WhatsAppPage(phone).Status("Recepção")).ToHaveTextAsync("Erro");
        await BrowserFixture.ScreenshotAsync(phone, "whatsapp-start-timeout-phone");

        // The operator is told what no API call could clean, and what to do about it.
        var console = await browser.NewPageAsync(baseUrl);
        await new LoginPage(console).OpenAsync();
        await new LoginPage(console).SignInAsync(ZapHubApp.OperatorEmail, ZapHubApp.OperatorPassword);
        await console.GotoAsync("/admin/gateways");
        var leftovers = console.GetByTestId("gw-leftovers");
        await Expect(leftovers).ToContainTextAsync("Emulador WPPConnect");
        await Expect(leftovers.Locator("[data-kind=locked_browser]")).ToContainTextAsync(instance);
        await Expect(leftovers.Locator("[data-kind=locked_browser]")).ToContainTextAsync("Reinicie o servidor do gateway");
        await BrowserFixture.ScreenshotAsync(console, "operator-gateway-leftovers-desktop");
        var consoleOnPhone = await browser.NewPageAsync(baseUrl, BrowserFixture.Phone);
        await new LoginPage(consoleOnPhone).OpenAsync();
        await new LoginPage(consoleOnPhone).SignInAsync(ZapHubApp.OperatorEmail, ZapHubApp.OperatorPassword);
        await consoleOnPhone.GotoAsync("/admin/gateways");
        await Expect(consoleOnPhone.GetByTestId("gw-leftovers")).ToContainTextAsync("Navegador travado");
        await BrowserFixture.ScreenshotAsync(consoleOnPhone, "operator-gateway-leftovers-phone");

        // WhatsApp is reachable again: the owner's retry connects without anyone restarting the gateway.
        Assert.True((await emulator.PostAsJsonAsync($"/emulator/_emulator/wppconnect/{instance}/fault", new { mode = (string?)null })).IsSuccessStatusCode);
        await numbers.Card("Recepção").GetByTestId("connect").ClickAsync();
        // A fresh name is provisioned (a bcrypt token) and started before the code shows: on a loaded machine that takes a while.
        await Expect(numbers.QrImage).ToBeVisibleAsync(new() { Timeout = 30_000 });
        var fresh = (await tenant.SessionAsync(id)).GetProperty("instanceName").GetString()!;
        Assert.NotEqual(instance, fresh);
        Assert.True((await emulator.PostAsJsonAsync($"/emulator/_emulator/wppconnect/{fresh}/scan", new { phone = "5511999990001", profileName = "Barbearia" })).IsSuccessStatusCode);
        await Expect(numbers.Status("Recepção")).ToHaveTextAsync("Conectado", new() { Timeout = 30_000 });
        await Expect(numbers.Phone("Recepção")).ToHaveTextAsync("(11) 99999-0001", new() { Timeout = 30_000 });
        await BrowserFixture.ScreenshotAsync(page, "whatsapp-retry-after-timeout-desktop");

        // The operator restarted the server and marks it cleaned.
        await console.GetByTestId("gw-leftovers-resolve").ClickAsync();
        await Expect(console.GetByTestId("gw-leftovers")).ToHaveCountAsync(0);
    }
}
