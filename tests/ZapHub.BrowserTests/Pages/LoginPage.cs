using Microsoft.Playwright;

namespace ZapHub.BrowserTests.Pages;

public sealed class LoginPage(IPage page)
{
    public async Task OpenAsync() => await page.GotoAsync("/login");

    public async Task SignInAsync(string email, string password)
    {
        await page.GetByLabel(new System.Text.RegularExpressions.Regex("E-mail")).FillAsync(email);
        await page.Locator("input[name=Password]").FillAsync(password);
        await page.Locator("form button[type=submit]").ClickAsync();
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
    }

    public ILocator Error => page.GetByTestId("login-error");
}

public sealed class ChangePasswordPage(IPage page)
{
    public bool IsOpen => page.Url.Contains("/account/password");

    public async Task ChangeAsync(string current, string next)
    {
        await page.Locator("input[name=CurrentPassword]").FillAsync(current);
        await page.Locator("input[name=NewPassword]").FillAsync(next);
        await page.Locator("input[name=ConfirmPassword]").FillAsync(next);
        await page.Locator("form button[type=submit]").ClickAsync();
        // A forced change takes the person in; a voluntary one stays on the form with a confirmation.
        await page.WaitForURLAsync(url => !url.Contains("/account/password") || url.Contains("done=1"));
    }
}
