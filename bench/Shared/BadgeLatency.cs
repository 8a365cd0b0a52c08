using Microsoft.Playwright;

namespace ZapHub.Bench;

/// <summary>
/// Webhook → dashboard, measured in Chromium: the owner's WhatsApp page is open, a MutationObserver records (with the
/// machine's wall clock) when the first card's badge changes, and its number is flipped open/close by
/// <c>connection.update</c> webhooks posted straight to its callback URL.
/// </summary>
public static class BadgeLatency
{
    private const int WarmUp = 5; // the first flips warm up the JIT and the circuit

    /// <returns>Milliseconds from each POST to the badge's new text, sorted.</returns>
    public static async Task<List<double>> MeasureAsync(IPage page, string callback, string instance, string wuid, int transitions)
    {
        await page.GotoAsync("/whatsapp");
        var badge = page.GetByTestId("status-badge").First;
        await badge.WaitForAsync();
        await page.EvaluateAsync("""
            () => { window.__changes = []; const b = document.querySelector('[data-testid=status-badge]');
                    new MutationObserver(() => window.__changes.push({ at: Date.now(), text: b.textContent })).observe(b, { childList: true, characterData: true, subtree: true }); }
            """);
        using var hooks = new HttpClient();
        var latencies = new List<double>();
        var open = (await badge.TextContentAsync())?.Trim() != "Conectado";
        for (var i = 0; i < transitions + WarmUp; i++)
        {
            var expected = open ? "Conectado" : "Desconectado";
            var data = open
                ? $$"""{"instance":"{{instance}}","wuid":"{{wuid}}","profileName":"Medida","state":"open","statusReason":200}"""
                : $$"""{"instance":"{{instance}}","state":"close","statusReason":408}""";
            var body = $$"""{"event":"connection.update","instance":"{{instance}}","data":{{data}},"date_time":"{{DateTime.UtcNow:O}}","seq":{{i}}}""";
            var before = await page.EvaluateAsync<int>("() => window.__changes.length");
            var sent = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            (await hooks.PostAsync(callback, new StringContent(body, System.Text.Encoding.UTF8, "application/json"))).EnsureSuccessStatusCode();
            await page.WaitForFunctionAsync($"() => window.__changes.length > {before} && window.__changes[window.__changes.length - 1].text === '{expected}'", null, new() { Timeout = 30_000 });
            var shown = await page.EvaluateAsync<long>("() => window.__changes[window.__changes.length - 1].at");
            if (i >= WarmUp) latencies.Add(shown - sent);
            open = !open;
        }
        latencies.Sort();
        return latencies;
    }
}
