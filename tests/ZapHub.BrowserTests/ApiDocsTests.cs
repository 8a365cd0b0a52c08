using Microsoft.Playwright;
using ZapHub.BrowserTests.Pages;
using ZapHub.IntegrationTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace ZapHub.BrowserTests;

/// <summary>The API reference is part of a self-hosted product: it loads with the outside world cut off and promotes nothing.</summary>
public class ApiDocsTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task TheApiReferenceLoadsWithEveryOutsideHostBlockedAndAsksNothingOfThem()
    {
        await using var app = new ZapHubApp();
        var baseUrl = app.ServeOverKestrel();
        var page = await browser.NewPageAsync(baseUrl);
        var outside = new List<string>();
        await page.RouteAsync("**/*", async route =>
        {
            var host = new Uri(route.Request.Url).Host;
            if (host is "127.0.0.1" or "localhost" || route.Request.Url.StartsWith("data:")) await route.ContinueAsync();
            else
            {
                lock (outside) outside.Add(route.Request.Url);
                await route.AbortAsync();
            }
        });

        await page.GotoAsync("/api/docs");
        await Expect(page.GetByText("ZapHub | v1").First).ToBeVisibleAsync(new() { Timeout = 30_000 });
        await Expect(page.Locator("main")).ToContainTextAsync("/api/v1/messages", new() { Timeout = 30_000 });
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        await BrowserFixture.ScreenshotAsync(page, "api-docs-desktop");

        Assert.True(outside.Count == 0, "requests outside ZapHub:\n" + string.Join("\n", outside));
        var text = await page.Locator("body").InnerTextAsync();
        foreach (var promotion in new[] { "Ask AI", "Generate SDK", "Deploy" })
            Assert.DoesNotContain(promotion, text);
    }
}
