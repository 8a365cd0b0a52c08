using Microsoft.Playwright;
using ZapHub.BrowserTests.Pages;
using ZapHub.IntegrationTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace ZapHub.BrowserTests;

public class GatewayConsoleTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task OperatorTestsAGatewaySeesTheLicenceNoticeAndGetsPlainErrors()
    {
        await using var app = new ZapHubApp().With("Demo:Enabled", "true");
        var page = await browser.NewPageAsync(app.ServeOverKestrel());
        await new LoginPage(page).OpenAsync();
        await new LoginPage(page).SignInAsync(ZapHubApp.OperatorEmail, ZapHubApp.OperatorPassword);
        await page.GotoAsync("/admin/gateways");

        var table = page.GetByTestId("gateways-table");
        await Expect(table).ToContainTextAsync("Emulador Evolution");
        await Expect(page.GetByTestId("evolution-licence")).ToContainTextAsync("multi-tenant");

        var evolution = table.Locator("tr", new() { HasText = "Emulador Evolution" });
        await evolution.GetByTestId("gw-test").ClickAsync();
        await Expect(evolution.GetByTestId("gw-health")).ToContainTextAsync("OK");

        await page.GetByTestId("gw-name").FillAsync("Servidor quebrado");
        await page.GetByTestId("gw-url").FillAsync("not a url");
        await page.GetByTestId("gw-credentials").FillAsync("x");
        await page.GetByTestId("gw-add").ClickAsync();
        await Expect(page.Locator(".alert-error")).ToContainTextAsync("Endereço inválido");

        await page.GetByTestId("gw-url").FillAsync("http://127.0.0.1:9");
        await page.GetByTestId("gw-add").ClickAsync();
        var broken = table.Locator("tr", new() { HasText = "Servidor quebrado" });
        await broken.GetByTestId("gw-test").ClickAsync();
        await Expect(broken.GetByTestId("gw-health")).ToContainTextAsync("Falhou");
        Assert.DoesNotContain("emulator-evolution-key", await page.ContentAsync());
        await BrowserFixture.ScreenshotAsync(page, "operator-gateways-desktop");
    }
}
