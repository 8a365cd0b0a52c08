using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using ZapHub.BrowserTests.Pages;
using ZapHub.IntegrationTests.Infrastructure;

namespace ZapHub.BrowserTests;

/// <summary>
/// Every page an owner and an operator use, in Portuguese and English, on a phone and a desktop, with data on it: nothing
/// wider than the screen, the page's heading above the fold, and no English (nor a raw text key) in a Portuguese page.
/// </summary>
public class EveryPageTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    /// <summary>English that once showed in Portuguese pages, and the marks of an untranslated key.</summary>
    private static readonly string[] Leaks =
    [
        "accepted", "attempt ", " via ", "Details", "Loading", "Nothing here", "by QR code", "by pairing", " owner ", "system", "loopback address",
        "scope.", "action.", "health.", "mreason.", "mcat.", "note.", "error.", "state.", "reason.", "cause.", "{0}", "{number}",
    ];

    [Fact]
    public async Task EveryPageFitsThePhoneAndTheDesktopAndReadsInTheChosenLanguage()
    {
        await using var emulator = await EmulatorHost.StartAsync();
        await using var receiver = await WebhookSink.StartAsync();
        await using var app = new ZapHubApp().With("Webhooks:AllowPrivateTargets", "true");
        var baseUrl = app.ServeOverKestrel();
        await app.RegisterEmulatorAsync(emulator);
        var t = await app.CreateTenantAsync();
        await t.SettingsAsync();
        var (number, instance) = await t.ConnectedSessionAsync(emulator, "evolution", "Evolution", "Recepção");
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync("/api/v1/templates", new { name = "confirmacao", body = "Olá {{nome}}, até amanhã." }), HttpStatusCode.Created);
        var message = await t.SendAsync(new { to = "(11) 98888-7777", text = "Seu horário está confirmado" });
        await t.WaitForMessageAsync(message, "Sent");
        await Http.ExpectAsync(await emulator.InboundAsync("evolution", instance, "5511977776666", "Obrigado!"), HttpStatusCode.OK);
        var contact = await Eventually.WaitAsync(async () => (await Http.JsonAsync(await t.Owner.GetAsync("/api/v1/contacts"), HttpStatusCode.OK)).EnumerateArray().ToList(),
            l => l.Count > 0, "the customer to show as a contact");
        var (webhook, _) = await t.CreateWebhookAsync(new Uri(receiver.BaseAddress, "/zaphub").ToString());
        await t.CreateApiKeyAsync("sessions:read");
        await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{number}/test-message", new { to = "(11) 98888-7777" }), HttpStatusCode.OK);

        string[] ownerPages =
        [
            "/", "/whatsapp", $"/whatsapp/{number}", "/messages", $"/messages/{message}", "/contacts", $"/contacts/{contact[0].GetProperty("id").GetGuid()}",
            "/templates", "/settings/sending", "/members", "/webhooks", $"/webhooks/{webhook}", "/api-keys", "/audit", "/account/password",
        ];
        string[] operatorPages = ["/admin/tenants", "/admin/gateways", "/admin/sessions", "/admin/audit", "/admin/platform-keys"];
        var problems = new List<string>();
        var visited = 0;
        foreach (var (email, password, pages) in new[] { (t.OwnerEmail, t.OwnerPassword, ownerPages), (ZapHubApp.OperatorEmail, ZapHubApp.OperatorPassword, operatorPages) })
        foreach (var (viewport, size) in new[] { (BrowserFixture.Phone, "phone"), (BrowserFixture.Desktop, "desktop") })
        foreach (var language in new[] { "pt-BR", "en" })
        {
            var page = await browser.NewPageAsync(baseUrl, viewport);
            await new LoginPage(page).OpenAsync();
            await new LoginPage(page).SignInAsync(email, password);
            await page.GotoAsync($"/culture/{language}?returnUrl=/");
            foreach (var path in pages)
            {
                await page.GotoAsync(path);
                var heading = page.Locator("h1").First;
                await heading.WaitForAsync();
                await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
                visited++;
                var name = System.Text.RegularExpressions.Regex.Replace(path.Trim('/'), "[0-9a-f]{8}-[0-9a-f-]{27}", "detail").Replace('/', '-') is { Length: > 0 } n ? n : "home";
                var (width, screen) = (await page.EvaluateAsync<int>("document.documentElement.scrollWidth"), await page.EvaluateAsync<int>("window.innerWidth"));
                if (width > screen) problems.Add($"{path} ({language}, {size}) is {width} px wide on a {screen} px screen");
                if ((await heading.BoundingBoxAsync())!.Y > viewport.Height) problems.Add($"{path} ({language}, {size}): the heading is below the fold");
                var text = await page.Locator("body").InnerTextAsync();
                foreach (var leak in Leaks.Where(l => language == "pt-BR" || l.Contains('.') || l.Contains('{')))
                    if (text.Contains(leak, StringComparison.Ordinal)) problems.Add($"{path} ({language}, {size}) shows \"{leak}\"");
                if (language == "pt-BR" || size == "desktop")
                    await BrowserFixture.ScreenshotAsync(page, $"page-{name}-{language}-{size}");
            }
            await page.Context.CloseAsync();
        }
        Assert.Equal((ownerPages.Length + operatorPages.Length) * 4, visited);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        // Every text key any page asked for exists in the language it was asked in.
        Assert.Empty(ZapHub.Components.Text.MissingKeys);
    }
}
