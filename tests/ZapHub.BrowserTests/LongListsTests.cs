using System.Net;
using System.Net.Http.Json;
using Microsoft.Playwright;
using ZapHub.BrowserTests.Pages;
using ZapHub.IntegrationTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace ZapHub.BrowserTests;

/// <summary>A tenant with more numbers than a page holds, and the operator's list of every tenant's numbers.</summary>
public class LongListsTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task AnOwnerPagesAndSearchesHerNumbersAndTheOperatorFiltersEveryTenantsNumbers()
    {
        await using var app = new ZapHubApp().With("Demo:Enabled", "true");
        var baseUrl = app.ServeOverKestrel();
        var shop = await app.CreateTenantAsync();
        var other = await app.CreateTenantAsync();
        var op = await app.OperatorAsync();
        await Http.ExpectAsync(await op.PutAsJsonAsync($"/api/v1/admin/tenants/{shop.Id}", new { name = "Rede de Lojas", slug = shop.Slug, maxSessions = 100 }), HttpStatusCode.OK);
        for (var i = 1; i <= 30; i++) await shop.CreateSessionAsync($"Loja {i:D2}");
        await other.CreateSessionAsync("Clínica");

        var page = await browser.NewPageAsync(baseUrl);
        await new LoginPage(page).OpenAsync();
        await new LoginPage(page).SignInAsync(shop.OwnerEmail, shop.OwnerPassword);
        await new WhatsAppPage(page).OpenAsync();
        var cards = page.GetByTestId("number-card");
        await Expect(cards).ToHaveCountAsync(24);
        await Expect(page.GetByTestId("tile-total")).ToHaveTextAsync("30");
        await Expect(page.GetByTestId("pager-range")).ToHaveTextAsync("1–24 de 30");
        await page.GetByTestId("pager-next").ClickAsync();
        await Expect(cards).ToHaveCountAsync(6);
        await Expect(page.GetByTestId("pager-page")).ToHaveTextAsync("Página 2 de 2");
        await Expect(cards.Last).ToContainTextAsync("Loja 30");

        await page.GetByTestId("number-search").FillAsync("loja 07");
        await page.GetByTestId("number-search").PressAsync("Enter");
        await Expect(cards).ToHaveCountAsync(1);
        await Expect(cards.First).ToContainTextAsync("Loja 07");
        // The counts above the list stay the tenant's, whatever the list shows.
        await Expect(page.GetByTestId("tile-total")).ToHaveTextAsync("30");
        await BrowserFixture.ScreenshotAsync(page, "whatsapp-search-desktop");

        // On a phone the pager and the search fit the screen.
        var phone = await browser.NewPageAsync(baseUrl, BrowserFixture.Phone);
        await new LoginPage(phone).OpenAsync();
        await new LoginPage(phone).SignInAsync(shop.OwnerEmail, shop.OwnerPassword);
        await new WhatsAppPage(phone).OpenAsync();
        await Expect(phone.GetByTestId("pager-range")).ToHaveTextAsync("1–24 de 30");
        await Expect(phone.GetByTestId("pager-next")).ToBeVisibleAsync();
        await BrowserFixture.AssertFitsAsync(phone);
        await phone.GetByTestId("pager-range").ScrollIntoViewIfNeededAsync();
        await BrowserFixture.ScreenshotAsync(phone, "whatsapp-pager-phone");

        var console = await browser.NewPageAsync(baseUrl);
        await new LoginPage(console).OpenAsync();
        await new LoginPage(console).SignInAsync(ZapHubApp.OperatorEmail, ZapHubApp.OperatorPassword);
        await console.GotoAsync("/admin/sessions");
        var rows = console.GetByTestId("all-sessions-table").Locator("tbody tr");
        await Expect(rows).ToHaveCountAsync(31);
        await Expect(console.GetByTestId("pager-range")).ToHaveTextAsync("1–31 de 31");
        await console.GetByTestId("all-tenant-filter").SelectOptionAsync(new SelectOptionValue { Label = "Rede de Lojas" });
        await Expect(rows).ToHaveCountAsync(30);
        await console.GetByTestId("all-search").FillAsync("loja 30");
        await console.GetByTestId("all-search").PressAsync("Enter");
        await Expect(rows).ToHaveCountAsync(1);
        await Expect(rows.First).ToContainTextAsync("Loja 30");
        await BrowserFixture.ScreenshotAsync(console, "admin-all-numbers-filtered-desktop");

        var consoleOnPhone = await browser.NewPageAsync(baseUrl, BrowserFixture.Phone);
        await new LoginPage(consoleOnPhone).OpenAsync();
        await new LoginPage(consoleOnPhone).SignInAsync(ZapHubApp.OperatorEmail, ZapHubApp.OperatorPassword);
        await consoleOnPhone.GotoAsync("/admin/sessions");
        await Expect(consoleOnPhone.GetByTestId("pager-range")).ToHaveTextAsync("1–31 de 31");
        await Expect(consoleOnPhone.GetByTestId("all-search")).ToBeVisibleAsync();
        await BrowserFixture.AssertFitsAsync(consoleOnPhone);
        await BrowserFixture.ScreenshotAsync(consoleOnPhone, "admin-all-numbers-phone");
    }
}
