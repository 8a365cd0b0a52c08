using Microsoft.Playwright;

namespace ZapHub.BrowserTests.Pages;

public sealed class WhatsAppPage(IPage page)
{
    public async Task OpenAsync()
    {
        await page.GotoAsync("/whatsapp");
        await page.GetByTestId("tiles").WaitForAsync();
    }

    public async Task AddNumberAsync(string name)
    {
        await page.GetByTestId("new-number-name").FillAsync(name);
        await page.GetByTestId("add-number").ClickAsync();
    }

    public ILocator Dialog => page.GetByTestId("qr-dialog");
    public ILocator QrImage => page.GetByTestId("qr-image");
    public ILocator Notice => page.GetByTestId("notice");
    public ILocator Cards => page.GetByTestId("number-card");
    public ILocator Card(string name) => Cards.Filter(new() { HasText = name });
    public ILocator Status(string name) => Card(name).GetByTestId("status-badge");
    public ILocator Phone(string name) => Card(name).GetByTestId("number-phone");

    public async Task SendTestAsync(string name, string to)
    {
        await Card(name).GetByTestId("open-test").ClickAsync();
        await Card(name).GetByTestId("test-to").FillAsync(to);
        await Card(name).GetByTestId("send-test").ClickAsync();
    }
}
