using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace ZapHub.BrowserTests;

/// <summary>A platform's own page on another origin (another loopback port), which embeds ZapHub's connect widget.</summary>
public sealed class HostPage : IAsyncDisposable
{
    private WebApplication? web;
    public string Origin { get; private set; } = "";

    public static async Task<HostPage> StartAsync(Uri zapHub)
    {
        var host = new HostPage();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        host.web = builder.Build();
        var script = new Uri(zapHub, "/embed/v1/connect.js");
        host.web.MapGet("/", () => Results.Content(Html(script), "text/html; charset=utf-8"));
        await host.web.StartAsync();
        host.Origin = new Uri(host.web.Urls.First()).GetLeftPart(UriPartial.Authority);
        return host;
    }

    /// <summary>The few lines a platform adds: the script, a button, and what to do with the outcome.</summary>
    private static string Html(Uri script) => $$"""
        <!doctype html>
        <html lang="pt-BR"><head><meta charset="utf-8"><title>Agenda da Barbearia</title></head>
        <body>
          <h1>Agenda da Barbearia</h1>
          <button id="connect">Conectar WhatsApp</button>
          <p id="status"></p>
          <script src="{{script}}"></script>
          <script>
            window.events = [];
            window.result = null;
            ['connected', 'failed', 'expired', 'closed'].forEach(function (outcome) {
              document.addEventListener('zaphub:' + outcome, function (e) { window.events.push(e.detail.outcome); });
            });
            document.getElementById('connect').addEventListener('click', function () {
              var link = new URLSearchParams(window.location.search).get('link');
              ZapHub.connect(link).then(function (result) {
                window.result = result;
                document.getElementById('status').textContent = result.outcome === 'connected' ? 'WhatsApp conectado!' : 'Não conectado (' + result.outcome + ')';
              });
            });
          </script>
        </body></html>
        """;

    public string UrlFor(string link) => $"{Origin}/?link={Uri.EscapeDataString(link)}";

    public async ValueTask DisposeAsync()
    {
        if (web is not null) await web.DisposeAsync();
    }
}
