using System.Net;
using Microsoft.Playwright;
using ZapHub.BrowserTests.Pages;
using ZapHub.IntegrationTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace ZapHub.BrowserTests;

/// <summary>A month of a number's life, lived through the emulator on a test clock, drawn on its page and on the overview.</summary>
public class HealthChartsTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task AMonthOfANumberIsDrawnDayByDayOnItsPageAndOnTheOverview()
    {
        const int days = 30;
        var clock = MonthOfHistory.Clock(days);
        await using var emulator = await EmulatorHost.StartAsync();
        await using var app = new ZapHubApp().UseClock(clock);
        var baseUrl = app.ServeOverKestrel();
        await app.RegisterEmulatorAsync(emulator);
        var t = await app.CreateTenantAsync();
        var owner = t;
        var (_, key) = await t.CreateApiKeyAsync([.. ZapHub.Features.Tenancy.ApiScopes.All]);
        t = t with { Owner = app.WithApiKey(key) };
        await t.SettingsAsync(s => s["warmupDays"] = 7);
        var (number, instance) = await t.ConnectedSessionAsync(emulator, "evolution", "Evolution", "Recepção");
        var expected = await MonthOfHistory.LiveAsync(t, emulator, clock, number, instance, days);
        // A second number linked today, still warming up.
        await t.ConnectedSessionAsync(emulator, "evolution", "Evolution", "Caixa", "5511999990002");

        foreach (var (viewport, size) in new[] { (BrowserFixture.Desktop, "desktop"), (BrowserFixture.Phone, "phone") })
        {
            var page = await browser.NewPageAsync(baseUrl, viewport);
            await new LoginPage(page).OpenAsync();
            await new LoginPage(page).SignInAsync(owner.OwnerEmail, owner.OwnerPassword);

            await page.GotoAsync($"/whatsapp/{number}");
            var messages = page.GetByTestId("chart-messages");
            // The first look waits as a person waits for a page on a busy machine.
            await Expect(messages.Locator("figcaption")).ToHaveTextAsync("Mensagens por dia", new() { Timeout = 30_000 });
            // One point a day for each line, one bar per failing day, one uptime bar for each day measured.
            await Expect(messages.Locator("polyline.s-sent")).ToHaveAttributeAsync("points", new System.Text.RegularExpressions.Regex(@"^(\S+,\S+ ){29}\S+,\S+$"));
            await Expect(messages.Locator("rect.s-failed")).ToHaveCountAsync(expected.Count(d => d.Failed > 0));
            await Expect(page.GetByTestId("chart-uptime").Locator("rect.s-uptime")).ToHaveCountAsync(days);
            await Expect(page.GetByTestId("chart-reconnections").Locator("rect.s-reconnect")).ToHaveCountAsync(expected.Count(d => d.Reconnections > 0));
            await Expect(page.GetByTestId("health-sent")).ToHaveTextAsync(expected.Sum(d => d.Sent).ToString());
            await Expect(page.GetByTestId("health-reconnections")).ToHaveTextAsync(expected.Sum(d => d.Reconnections).ToString());

            // The figures behind the chart, newest day first, in Brazilian dates.
            await messages.Locator("details summary").ClickAsync();
            var table = page.GetByTestId("chart-messages-table");
            await Expect(table.Locator("tbody tr")).ToHaveCountAsync(days);
            var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTimeFromUtc(clock.GetUtcNow().UtcDateTime, MonthOfHistory.SaoPaulo));
            var cells = await table.Locator("tbody tr").First.Locator("td").AllInnerTextsAsync();
            Assert.Equal([today.ToString("dd/MM"), .. new[] { expected[^1].Sent, expected[^1].Delivered, expected[^1].Read, expected[^1].Received, expected[^1].Failed }.Select(n => n.ToString())], cells);
            await BrowserFixture.AssertFitsAsync(page);
            await messages.Locator("details summary").ClickAsync();
            await BrowserFixture.ScreenshotAsync(page, $"health-number-{size}");

            await page.GotoAsync("/");
            await Expect(page.GetByTestId("health").Locator("h2")).ToHaveTextAsync("Como estão seus números (últimos 30 dias)", new() { Timeout = 30_000 });
            await Expect(page.GetByTestId("health-warmup")).ToHaveTextAsync("aquecimento: dia 1 de 7");
            await Expect(page.GetByTestId("health-limits").Locator("li")).ToHaveCountAsync(2);
            await BrowserFixture.AssertFitsAsync(page);
            await BrowserFixture.ScreenshotAsync(page, $"health-overview-{size}");

            if (size == "desktop")
            {
                await page.GotoAsync($"/culture/en?returnUrl=/whatsapp/{number}");
                await Expect(page.GetByTestId("chart-messages").Locator("figcaption")).ToHaveTextAsync("Messages per day", new() { Timeout = 30_000 });
                await Expect(page.GetByTestId("health").Locator("h2")).ToHaveTextAsync("How this number is doing (last 30 days)");
                await BrowserFixture.ScreenshotAsync(page, "health-number-en-desktop");
            }
            await page.Context.CloseAsync();
        }
    }

}
