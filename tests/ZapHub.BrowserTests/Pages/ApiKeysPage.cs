using Microsoft.Playwright;

namespace ZapHub.BrowserTests.Pages;

public sealed class ApiKeysPage(IPage page)
{
    public async Task OpenAsync()
    {
        await page.GotoAsync("/api-keys");
        await page.GetByTestId("new-key-form").WaitForAsync();
    }

    public async Task<string> CreateAsync(string name)
    {
        await page.GetByTestId("key-name").FillAsync(name);
        await page.GetByTestId("create-key").ClickAsync();
        var secret = page.GetByTestId("one-time-secret");
        await secret.WaitForAsync();
        return (await secret.TextContentAsync())!.Trim();
    }

    public ILocator OneTimeSecret => page.GetByTestId("one-time-secret");
    public ILocator Table => page.GetByTestId("keys-table");
}

public sealed class TenantsPage(IPage page)
{
    public async Task OpenAsync()
    {
        await page.GotoAsync("/admin/tenants");
        await page.GetByTestId("tenant-form").WaitForAsync();
    }

    public async Task<string> CreateAsync(string name, string slug, string ownerEmail)
    {
        await page.GetByTestId("tenant-name").FillAsync(name);
        await page.GetByTestId("tenant-slug").FillAsync(slug);
        await page.GetByTestId("tenant-owner").FillAsync(ownerEmail);
        await page.GetByTestId("tenant-save").ClickAsync();
        var secret = page.GetByTestId("one-time-secret");
        await secret.WaitForAsync();
        return (await secret.TextContentAsync())!.Trim();
    }

    public ILocator Table => page.GetByTestId("tenants-table");
}
