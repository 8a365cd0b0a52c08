using System.Net.Http.Json;
using Microsoft.Playwright;
using ZapHub.BrowserTests.Pages;
using ZapHub.Features.Events;
using ZapHub.IntegrationTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace ZapHub.BrowserTests;

/// <summary>The owner connects their system: adds an endpoint, keeps the secret, tests it, reads the log, replays, and sees the alert when it goes away.</summary>
public class WebhooksTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task OwnerAddsAnEndpointTestsItReadsTheDeliveryLogAndSeesItDisabledWhenGone()
    {
        await using var receiver = await SignedReceiver.StartAsync();
        await using var app = new ZapHubApp().With("Webhooks:AllowPrivateTargets", "true").With("Webhooks:PollInterval", "00:00:00.200");
        var baseUrl = app.ServeOverKestrel();
        var a = await app.CreateTenantAsync();

        var page = await browser.NewPageAsync(baseUrl);
        await new LoginPage(page).OpenAsync();
        await new LoginPage(page).SignInAsync(a.OwnerEmail, a.OwnerPassword);

        await page.GotoAsync("/webhooks");
        // A private address is refused in words, and nothing is saved.
        await page.GetByTestId("webhook-url").FillAsync("http://169.254.169.254/latest");
        await page.GetByTestId("webhook-create").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("não pode receber webhooks");

        await page.GetByTestId("webhook-url").FillAsync(receiver.Url);
        await page.GetByTestId("webhook-description").FillAsync("ERP da clínica");
        await page.GetByTestId("webhook-create").ClickAsync();
        var secret = await page.GetByTestId("one-time-secret").InnerTextAsync();
        Assert.StartsWith("whsec_", secret);
        receiver.Secrets.Add(secret);
        await Expect(page.GetByTestId("webhooks-table")).ToContainTextAsync("ERP da clínica");
        await BrowserFixture.ScreenshotAsync(page, "webhooks-desktop");

        await page.GetByTestId("webhook-open").ClickAsync();
        await page.GetByTestId("webhook-test").ClickAsync();
        var test = await receiver.WaitForAsync(h => h.Type == EventTypes.WebhookTest, "the test event");
        Assert.True(test.SignatureValid);
        await Eventually.WaitAsync(async () =>
        {
            await page.ReloadAsync();
            return await page.GetByTestId("deliveries-table").TextContentAsync() ?? "";
        }, text => text.Contains("Entregue"), "the delivery to show as delivered");
        await page.GetByTestId("delivery-row").First.GetByRole(AriaRole.Button, new() { Name = "Tentativas" }).ClickAsync();
        await Expect(page.GetByTestId("attempts-table")).ToContainTextAsync("200");
        await BrowserFixture.ScreenshotAsync(page, "webhook-detail-desktop");

        // The customer's system is retired and answers 410: the endpoint switches itself off and says why.
        receiver.Answer = _ => 410;
        await a.Owner.PostAsJsonAsync("/api/v1/contacts", new { phone = "11988887777", optedOut = true });
        await Eventually.WaitAsync(async () =>
        {
            await page.ReloadAsync();
            return await page.GetByTestId("webhook-status").TextContentAsync() ?? "";
        }, text => text.Contains("Desativado"), "the endpoint to show as disabled");
        await Expect(page.GetByTestId("webhook-alert")).ToContainTextAsync("410");
        await page.SetViewportSizeAsync(390, 844);
        await BrowserFixture.ScreenshotAsync(page, "webhook-detail-mobile");
    }
}
