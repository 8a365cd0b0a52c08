using Microsoft.Playwright;

namespace ZapHub.BrowserTests.Pages;

/// <summary>The dashboard frame: navigation, language switch, sign-out.</summary>
public sealed class Shell(IPage page)
{
    public ILocator Heading => page.Locator("main h1");

    public async Task GoAsync(string path)
    {
        await page.GotoAsync(path);
        await Heading.WaitForAsync();
    }

    public async Task SwitchToEnglishAsync()
    {
        await OpenMenuIfCollapsedAsync();
        await page.GetByTestId("lang-en").ClickAsync();
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
    }

    public async Task SwitchToPortugueseAsync()
    {
        await page.GetByTestId("lang-pt").ClickAsync();
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
    }

    public async Task SignOutAsync()
    {
        await OpenMenuIfCollapsedAsync();
        await page.GetByTestId("logout").ClickAsync();
        await page.WaitForURLAsync("**/login");
    }

    public ILocator Nav => page.Locator("nav.sidenav");

    private async Task OpenMenuIfCollapsedAsync()
    {
        var toggle = page.Locator("label.nav-toggle-label");
        if (await toggle.IsVisibleAsync() && !await page.GetByTestId("logout").IsVisibleAsync())
            await toggle.ClickAsync();
    }
}
