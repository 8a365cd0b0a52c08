using Microsoft.Playwright;
using ZapHub.BrowserTests.Pages;
using ZapHub.IntegrationTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace ZapHub.BrowserTests;

public class DashboardTests(BrowserFixture browser) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task OwnerSignsInSwitchesLanguageAndSeesANewApiKeyExactlyOnce()
    {
        await using var app = new ZapHubApp();
        var baseUrl = app.ServeOverKestrel();
        var tenant = await app.CreateTenantAsync(keepOneTimePassword: true);

        var page = await browser.NewPageAsync(baseUrl);
        await new LoginPage(page).OpenAsync();
        await new LoginPage(page).SignInAsync(tenant.OwnerEmail, tenant.OwnerPassword);

        // A generated password must be replaced before anything else.
        var password = new ChangePasswordPage(page);
        Assert.True(password.IsOpen, page.Url);
        await password.ChangeAsync(tenant.OwnerPassword, "Senha-Nova-2026");

        var shell = new Shell(page);
        await shell.GoAsync("/");
        await Expect(shell.Heading).ToContainTextAsync("Olá");
        await Expect(shell.Nav).ToContainTextAsync("Chaves de API");

        await shell.SwitchToEnglishAsync();
        await Expect(shell.Heading).ToContainTextAsync("Hello");
        await Expect(shell.Nav).ToContainTextAsync("API keys");
        await BrowserFixture.ScreenshotAsync(page, "home-en-desktop");
        await shell.SwitchToPortugueseAsync();
        await Expect(shell.Nav).ToContainTextAsync("Chaves de API");

        var keys = new ApiKeysPage(page);
        await keys.OpenAsync();
        var key = await keys.CreateAsync("Agenda da barbearia");
        Assert.StartsWith("zh_", key);
        await Expect(keys.Table).ToContainTextAsync("Agenda da barbearia");
        await BrowserFixture.ScreenshotAsync(page, "api-key-created-desktop");

        // The key works against the API...
        var api = app.WithApiKey(key);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await api.GetAsync("/api/v1/tenant")).StatusCode);

        // ...and is never shown again: after a reload only its prefix remains.
        await keys.OpenAsync();
        await Expect(keys.Table).ToContainTextAsync(key[..13]);
        await Expect(keys.OneTimeSecret).ToHaveCountAsync(0);
        Assert.DoesNotContain(key, await page.ContentAsync());

        // Adding someone who is already a member says so (the page's reload after the attempt used to clear the message).
        await shell.GoAsync("/members");
        await page.GetByTestId("add-member-form").Locator("input[type=email]").FillAsync(tenant.OwnerEmail);
        await page.GetByTestId("add-member-form").Locator("button[type=submit]").ClickAsync();
        await Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("já é membro");

        // The audit trail says what happened in the reader's words, not as a code.
        await shell.GoAsync("/audit");
        await Expect(page.GetByTestId("audit-table")).ToContainTextAsync("Criou uma chave de API");
        await Expect(page.GetByTestId("audit-table")).Not.ToContainTextAsync("apikey.created");
        await BrowserFixture.ScreenshotAsync(page, "audit-desktop");

        var phone = await browser.NewPageAsync(baseUrl, BrowserFixture.Phone);
        await new LoginPage(phone).OpenAsync();
        await BrowserFixture.ScreenshotAsync(phone, "login-phone");
        await new LoginPage(phone).SignInAsync(tenant.OwnerEmail, "Senha-Nova-2026");
        await new ApiKeysPage(phone).OpenAsync();
        await BrowserFixture.ScreenshotAsync(phone, "api-keys-phone");
        await new Shell(phone).SignOutAsync();
    }

    [Fact]
    public async Task OperatorCreatesATenantWhoseOwnerCanSignIn()
    {
        await using var app = new ZapHubApp();
        var baseUrl = app.ServeOverKestrel();

        var page = await browser.NewPageAsync(baseUrl);
        await new LoginPage(page).OpenAsync();
        await new LoginPage(page).SignInAsync(ZapHubApp.OperatorEmail, ZapHubApp.OperatorPassword);
        var tenants = new TenantsPage(page);
        await tenants.OpenAsync();
        var ownerPassword = await tenants.CreateAsync("Clínica Sorriso", "clinica-sorriso", "dona@sorriso.test");
        await Expect(tenants.Table).ToContainTextAsync("Clínica Sorriso");
        await BrowserFixture.ScreenshotAsync(page, "operator-tenant-created-desktop");
        await new Shell(page).SignOutAsync();

        await new LoginPage(page).SignInAsync("dona@sorriso.test", ownerPassword);
        Assert.True(new ChangePasswordPage(page).IsOpen, page.Url);

        var phone = await browser.NewPageAsync(baseUrl, BrowserFixture.Phone);
        await new LoginPage(phone).OpenAsync();
        await new LoginPage(phone).SignInAsync(ZapHubApp.OperatorEmail, ZapHubApp.OperatorPassword);
        await new TenantsPage(phone).OpenAsync();
        await BrowserFixture.ScreenshotAsync(phone, "operator-tenants-phone");
    }

    [Fact]
    public async Task AWrongPasswordIsExplainedInPortuguese()
    {
        await using var app = new ZapHubApp();
        var page = await browser.NewPageAsync(app.ServeOverKestrel());
        var login = new LoginPage(page);
        await login.OpenAsync();
        await login.SignInAsync(ZapHubApp.OperatorEmail, "senha-errada");
        await Expect(login.Error).ToHaveTextAsync("E-mail ou senha incorretos.");
        await BrowserFixture.ScreenshotAsync(page, "login-error-desktop");
    }
}
