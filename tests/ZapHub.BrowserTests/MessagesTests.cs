using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using ZapHub.BrowserTests.Pages;
using ZapHub.IntegrationTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace ZapHub.BrowserTests;

/// <summary>The owner writes a template, sends it from the messages page, and follows it to the phone and back.</summary>
public class MessagesTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task OwnerWritesATemplateSendsItAndFollowsItsTimelineAndTheConversation()
    {
        await using var app = new ZapHubApp().With("Demo:Enabled", "true");
        var baseUrl = app.ServeOverKestrel();
        var a = await app.CreateTenantAsync();
        await a.SettingsAsync();
        var session = await a.CreateSessionAsync("Recepção", "Evolution");
        var id = session.GetProperty("id").GetGuid();
        var instance = session.GetProperty("instanceName").GetString()!;
        await a.Owner.PostAsJsonAsync($"/api/v1/sessions/{id}/connect", new { });
        await a.WaitForStateAsync(id, "AwaitingScan");
        await app.Anonymous().PostAsJsonAsync($"/emulator/_emulator/evolution/{instance}/scan", new { phone = "5511999990001" });
        await a.WaitForStateAsync(id, "Connected");

        var page = await browser.NewPageAsync(baseUrl);
        await new LoginPage(page).OpenAsync();
        await new LoginPage(page).SignInAsync(a.OwnerEmail, a.OwnerPassword);

        await page.GotoAsync("/templates");
        await page.GetByTestId("template-name").FillAsync("confirmacao");
        await page.GetByTestId("template-body").FillAsync("Olá {{nome}}, seu horário é {{hora}}.");
        await page.GetByTestId("template-save").ClickAsync();
        await Expect(page.GetByTestId("templates-table")).ToContainTextAsync("confirmacao");
        await BrowserFixture.ScreenshotAsync(page, "templates-desktop");

        await page.GotoAsync("/messages");
        await page.GetByTestId("send-to").FillAsync("(11) 98888-7777");
        await page.GetByTestId("send-template").SelectOptionAsync("confirmacao");
        await page.GetByTestId("var-nome").FillAsync("Ana");
        await page.GetByTestId("var-hora").FillAsync("14h");
        await page.GetByTestId("send-submit").ClickAsync();
        await Expect(page.GetByTestId("notice")).ToContainTextAsync("Mensagem aceita");
        await Expect(page.GetByTestId("messages-table")).ToContainTextAsync("Olá Ana, seu horário é 14h.");

        var sent = await Eventually.WaitAsync(async () => await app.Anonymous().GetFromJsonAsync<List<JsonElement>>($"/emulator/_emulator/messages?instance={instance}"),
            l => l!.Count == 1, "the phone to get the message");
        Assert.Equal("Olá Ana, seu horário é 14h.", sent![0].GetProperty("text").GetString());

        await page.GetByTestId("message-row").First.GetByRole(AriaRole.Link).ClickAsync();
        await Expect(page.GetByTestId("message-timeline")).ToContainTextAsync("Enviada");
        // Each line in the reader's language, stored as a code: no "accepted" or "attempt 1 via" in a Portuguese page.
        await Expect(page.GetByTestId("message-timeline")).ToContainTextAsync("aceita");
        await Expect(page.GetByTestId("message-timeline")).ToContainTextAsync("tentativa 1 por");
        await Expect(page.GetByTestId("message-timeline")).Not.ToContainTextAsync("attempt");

        // The phone reports delivery while the page is open: the page follows without being reloaded.
        await page.EvaluateAsync("window.__noReload = true");
        var acked = await app.Anonymous().PostAsJsonAsync($"/emulator/_emulator/evolution/{instance}/ack",
            new { messageId = sent[0].GetProperty("messageId").GetString(), status = "delivered" });
        Assert.True(acked.IsSuccessStatusCode);
        await Expect(page.GetByTestId("message-timeline")).ToContainTextAsync("Entregue");
        Assert.True(await page.EvaluateAsync<bool>("window.__noReload === true"), "the page reloaded");
        await BrowserFixture.ScreenshotAsync(page, "message-timeline-desktop");

        // The customer answers SAIR: the conversation shows both sides and the contact is marked as opted out.
        await app.Anonymous().PostAsJsonAsync($"/emulator/_emulator/evolution/{instance}/inbound", new { from = "5511988887777", text = "SAIR", pushName = "Ana" });
        await Eventually.WaitAsync(async () => (await a.Owner.GetFromJsonAsync<JsonElement>("/api/v1/contacts")).GetArrayLength(), n => n == 1, "the contact");
        await page.GotoAsync("/contacts");
        await Expect(page.GetByTestId("opted-out")).ToBeVisibleAsync();
        await page.GetByTestId("contacts-table").GetByRole(AriaRole.Link).ClickAsync();
        await Expect(page.GetByTestId("conversation").Locator("li")).ToHaveCountAsync(2);
        await BrowserFixture.ScreenshotAsync(page, "conversation-desktop");
        var phone = await browser.NewPageAsync(baseUrl, BrowserFixture.Phone);
        await new LoginPage(phone).OpenAsync();
        await new LoginPage(phone).SignInAsync(a.OwnerEmail, a.OwnerPassword);
        await phone.GotoAsync("/messages");
        await Expect(phone.GetByTestId("messages-table")).ToContainTextAsync("SAIR");
        await BrowserFixture.ScreenshotAsync(phone, "messages-phone");
    }

    [Fact]
    public async Task AMessageIsScheduledWithADateTypedTheBrazilianWayAndAWrongOneIsExplained()
    {
        await using var app = new ZapHubApp().With("Demo:Enabled", "true");
        var baseUrl = app.ServeOverKestrel();
        var a = await app.CreateTenantAsync();
        await a.CreateSessionAsync("Recepção");
        var page = await browser.NewPageAsync(baseUrl);
        await new LoginPage(page).OpenAsync();
        await new LoginPage(page).SignInAsync(a.OwnerEmail, a.OwnerPassword);
        await page.GotoAsync("/messages");
        await page.GetByTestId("send-to").FillAsync("(11) 98888-7777", new() { Timeout = 30_000 });
        await page.GetByTestId("send-text").FillAsync("Lembrete: amanhã às 9h30");
        await Expect(page.GetByTestId("send-at")).ToHaveAttributeAsync("placeholder", "dd/mm/aaaa hh:mm");

        // Month first is not a Brazilian date: nothing is sent, and the form says how to write it.
        await page.GetByTestId("send-at").FillAsync("12/31/2030 09:30");
        await page.GetByTestId("send-submit").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("Escreva a data e a hora assim: dd/mm/aaaa hh:mm.", new() { Timeout = 15_000 });
        Assert.Empty((await Http.JsonAsync(await a.Owner.GetAsync("/api/v1/messages"), System.Net.HttpStatusCode.OK)).EnumerateArray());

        var day = TimeZoneInfo.ConvertTimeFromUtc(DateTime.UtcNow, TimeZoneInfo.FindSystemTimeZoneById("America/Sao_Paulo")).Date.AddDays(30);
        await page.GetByTestId("send-at").FillAsync(day.ToString("dd/MM/yyyy") + " 09:30");
        await page.GetByTestId("send-submit").ClickAsync();
        await Expect(page.GetByTestId("notice")).ToContainTextAsync("Mensagem aceita", new() { Timeout = 15_000 });
        var message = Assert.Single((await Http.JsonAsync(await a.Owner.GetAsync("/api/v1/messages"), System.Net.HttpStatusCode.OK)).EnumerateArray());
        Assert.Equal("Scheduled", message.GetProperty("status").GetString());
        // 09:30 in São Paulo (UTC−3), the tenant's zone.
        Assert.Equal(DateTime.SpecifyKind(day.AddHours(12.5), DateTimeKind.Utc), message.GetProperty("dueAt").GetDateTime().ToUniversalTime());
    }
}
