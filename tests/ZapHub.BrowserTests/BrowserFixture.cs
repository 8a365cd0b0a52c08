using Microsoft.Playwright;

namespace ZapHub.BrowserTests;

/// <summary>One Debian Chromium per test class; each test gets its own context (cookies, viewport).</summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    private IPlaywright? playwright;
    public IBrowser Browser { get; private set; } = default!;

    public static string Artifacts { get; } = Path.GetFullPath(
        Environment.GetEnvironmentVariable("ZAPHUB_ARTIFACTS") ?? Path.Combine("TestResults", "screenshots"));

    public async Task InitializeAsync()
    {
        // Assertions wait for the outcome (a state shown, a row listed) up to this long, not Playwright's 5 s.
        Microsoft.Playwright.Assertions.SetDefaultExpectTimeout(30_000);
        playwright = await Playwright.CreateAsync();
        Browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Environment.GetEnvironmentVariable("ZAPHUB_CHROMIUM") ?? "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync"],
        });
        Directory.CreateDirectory(Artifacts);
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        playwright?.Dispose();
    }

    public static readonly ViewportSize Desktop = new() { Width = 1366, Height = 768 };
    public static readonly ViewportSize Phone = new() { Width = 390, Height = 844 };

    public async Task<IPage> NewPageAsync(Uri baseUrl, ViewportSize? viewport = null)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = baseUrl.ToString(), ViewportSize = viewport ?? Desktop });
        // Generous: on a busy two-core machine a sign-in (password hashing) or a circuit's first render can take many
        // seconds; a test waits for what a person would wait for, and a passing test never waits this long.
        context.SetDefaultTimeout(60_000);
        return await context.NewPageAsync();
    }

    public static async Task ScreenshotAsync(IPage page, string name)
    {
        var path = Path.Combine(Artifacts, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        // The owner's guide shows these: every test run draws them again, so they never go stale.
        if (GuidePictures.Contains(name)) File.Copy(path, Path.Combine(GuideFolder, name + ".png"), overwrite: true);
    }

    /// <summary>Nothing on the page is wider than the screen (measured, whatever was typed into it).</summary>
    public static async Task AssertFitsAsync(IPage page)
    {
        var (content, viewport) = (await page.EvaluateAsync<int>("document.documentElement.scrollWidth"), await page.EvaluateAsync<int>("window.innerWidth"));
        if (content <= viewport) return;
        var culprits = await page.EvaluateAsync<string>("""
            [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
              .filter(e => ![...e.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 1))
              .slice(0, 5).map(e => `${e.tagName.toLowerCase()}${e.className ? '.' + e.className : ''}${e.dataset.testid ? '[' + e.dataset.testid + ']' : ''} (${Math.round(e.getBoundingClientRect().right)} px)`).join(', ')
            """);
        Assert.Fail($"{page.Url} is {content} px wide on a {viewport} px screen; too wide: {culprits}");
    }

    /// <summary>The screenshots docs/guia-do-dono.md uses.</summary>
    public static readonly HashSet<string> GuidePictures =
    [
        "whatsapp-qr-evolution-desktop", "whatsapp-pairing-phone", "whatsapp-connected-evolution-phone", "session-detail-desktop",
        "whatsapp-disconnected-evolution-desktop", "whatsapp-start-timeout-desktop", "message-timeline-desktop", "messages-phone-first",
        "page-settings-sending-pt-BR-desktop", "conversation-desktop", "health-number-desktop", "health-number-phone", "health-overview-desktop",
    ];

    private static string GuideFolder
    {
        get
        {
            var root = new DirectoryInfo(AppContext.BaseDirectory);
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "ZapHub.sln"))) root = root.Parent;
            return Directory.CreateDirectory(Path.Combine(root!.FullName, "docs", "guia-do-dono")).FullName;
        }
    }
}
