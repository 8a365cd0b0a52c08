using Microsoft.Playwright;
using ZapHub.BrowserTests.Pages;
using ZapHub.IntegrationTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace ZapHub.BrowserTests;

/// <summary>On a 390 px phone each page shows what it is for first, and nothing is wider than the screen, whatever was typed.</summary>
public class PhoneLayoutTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task OnAPhoneNumbersAndMessagesComeBeforeTheirFormsAndNothingIsWiderThanTheScreen()
    {
        await using var app = new ZapHubApp().With("Demo:Enabled", "true");
        var baseUrl = app.ServeOverKestrel();
        var t = await app.CreateTenantAsync();
        await t.CreateSessionAsync("Recepção");
        await t.CreateSessionAsync("Unidade" + new string('X', 90));

        var page = await browser.NewPageAsync(baseUrl, BrowserFixture.Phone);
        await new LoginPage(page).OpenAsync();
        await new LoginPage(page).SignInAsync(t.OwnerEmail, t.OwnerPassword);

        await new WhatsAppPage(page).OpenAsync();
        await Expect(page.GetByTestId("number-card")).ToHaveCountAsync(2);
        Assert.True(await TopAsync(page.GetByTestId("number-card").First) < await TopAsync(page.GetByTestId("add-number-form")), "the numbers come after the add form");
        Assert.True(await TopAsync(page.GetByTestId("number-card").First) < 844, "the first number is below the fold");
        await BrowserFixture.AssertFitsAsync(page);
        await BrowserFixture.ScreenshotAsync(page, "whatsapp-phone-first");

        await page.GotoAsync("/messages");
        await page.GetByTestId("send-form").WaitForAsync();
        Assert.True(await TopAsync(page.GetByTestId("message-filters")) < await TopAsync(page.GetByTestId("send-form")), "the list comes after the send form");
        await BrowserFixture.AssertFitsAsync(page);
        await BrowserFixture.ScreenshotAsync(page, "messages-phone-first");
    }

    private static async Task<double> TopAsync(ILocator element) => (await element.BoundingBoxAsync())!.Y;
}
