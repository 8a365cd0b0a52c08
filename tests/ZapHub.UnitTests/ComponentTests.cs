using Bunit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using ZapHub.Components;
using ZapHub.Components.Shared;
using ZapHub.Features.Sessions;
using ZapHub.Gateways;

namespace ZapHub.UnitTests;

public class ComponentTests : BunitContext
{
    private readonly FakeTimeProvider time = new(new DateTimeOffset(2026, 11, 22, 15, 0, 0, TimeSpan.Zero));

    public ComponentTests()
    {
        Services.AddSingleton<Text>();
        Services.AddSingleton<TimeProvider>(time);
    }

    [Theory]
    [InlineData(SessionState.Connected, "Conectado", "badge-ok")]
    [InlineData(SessionState.AwaitingScan, "Aguardando leitura do QR", "badge-wait")]
    [InlineData(SessionState.Starting, "Iniciando", "badge-wait")]
    [InlineData(SessionState.Pairing, "Conectando", "badge-wait")]
    [InlineData(SessionState.Disconnected, "Desconectado", "badge-warn")]
    [InlineData(SessionState.Failed, "Erro", "badge-error")]
    [InlineData(SessionState.Disabled, "Desativado", "badge-off")]
    [InlineData(SessionState.Created, "Não configurado", "badge-off")]
    public void TheStatusBadgeSaysTheStateInPortugueseWithItsColour(SessionState state, string label, string css)
    {
        var badge = Render<StatusBadge>(p => p.Add(b => b.State, state)).Find("span");
        Assert.Equal(label, badge.TextContent);
        Assert.Contains(css, badge.ClassList);
    }

    [Fact]
    public void DatesAreShownDayFirstInSaoPauloTimeWhateverTheThreadCulture()
    {
        var previous = (System.Globalization.CultureInfo.CurrentCulture, System.Globalization.CultureInfo.CurrentUICulture);
        try
        {
            System.Globalization.CultureInfo.CurrentCulture = System.Globalization.CultureInfo.InvariantCulture;
            System.Globalization.CultureInfo.CurrentUICulture = System.Globalization.CultureInfo.InvariantCulture;
            Assert.Equal("03/02/2026 07:05", new Text().Date(new DateTime(2026, 2, 3, 10, 5, 0, DateTimeKind.Utc)));
            System.Globalization.CultureInfo.CurrentUICulture = new System.Globalization.CultureInfo("en");
            Assert.Equal("2026-02-03 07:05", new Text().Date(new DateTime(2026, 2, 3, 10, 5, 0, DateTimeKind.Utc)));
        }
        finally
        {
            (System.Globalization.CultureInfo.CurrentCulture, System.Globalization.CultureInfo.CurrentUICulture) = previous;
        }
    }

    [Fact]
    public void TheQrCountdownFollowsTheClockAndSaysWhenANewCodeIsComing()
    {
        var dialog = Render<QrDialog>(p => p
            .Add(d => d.Session, Session(SessionState.AwaitingScan))
            .Add(d => d.Qr, new QrView(SessionState.AwaitingScan, "2@abc", "data:image/png;base64,AAAA", null, time.GetUtcNow().UtcDateTime.AddSeconds(30), 2, 6)));
        Assert.Contains("mais 30 s", dialog.Find("[data-testid=qr-countdown]").TextContent);
        Assert.Contains("Código 2 de 6", dialog.Markup);

        time.Advance(TimeSpan.FromSeconds(10));
        dialog.WaitForAssertion(() => Assert.Contains("mais 20 s", dialog.Find("[data-testid=qr-countdown]").TextContent));
        time.Advance(TimeSpan.FromSeconds(25));
        dialog.WaitForAssertion(() => Assert.Contains("Atualizando", dialog.Find("[data-testid=qr-countdown]").TextContent));
    }

    [Fact]
    public void APairingCodeIsShownInTwoGroupsOfFour()
    {
        var dialog = Render<QrDialog>(p => p
            .Add(d => d.Session, Session(SessionState.AwaitingScan))
            .Add(d => d.Qr, new QrView(SessionState.AwaitingScan, null, null, "ABCD1234", null, 0, 6)));
        Assert.Equal("ABCD-1234", dialog.Find("[data-testid=pairing-code]").TextContent);
        Assert.Empty(dialog.FindAll("[data-testid=qr-image]"));
    }

    [Fact]
    public void AnEndedAttemptOffersToGenerateAgain()
    {
        var again = 0;
        var dialog = Render<QrDialog>(p => p
            .Add(d => d.Session, Session(SessionState.Disconnected))
            .Add(d => d.Qr, new QrView(SessionState.Disconnected, null, null, null, null, 6, 6))
            .Add(d => d.OnGenerateAgain, () => again++));
        dialog.Find("[data-testid=qr-again]").Click();
        Assert.Equal(1, again);
    }

    [Fact]
    public void AQrWithoutAnImageIsDrawnFromItsCode()
    {
        var dialog = Render<QrDialog>(p => p
            .Add(d => d.Session, Session(SessionState.AwaitingScan))
            .Add(d => d.Qr, new QrView(SessionState.AwaitingScan, "2@abc,def", null, null, time.GetUtcNow().UtcDateTime.AddSeconds(20), 1, 6)));
        Assert.StartsWith("data:image/png;base64,iVBOR", dialog.Find("[data-testid=qr-image]").GetAttribute("src"));
    }

    [Fact]
    public void TheTilesCountNumbersByWhatTheyNeed()
    {
        SessionState[] states = [SessionState.Connected, SessionState.Connected, SessionState.Disconnected, SessionState.AwaitingScan,
            SessionState.Starting, SessionState.Pairing, SessionState.Failed, SessionState.Disabled];
        var tiles = Render<StatTiles>(p => p.Add(t => t.Counts, states.GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count())));
        string Tile(string id) => tiles.Find($"[data-testid=tile-{id}]").TextContent;
        Assert.Equal(("8", "2", "1", "3", "1"), (Tile("total"), Tile("connected"), Tile("disconnected"), Tile("waiting"), Tile("error")));
    }

    private static SessionView Session(SessionState state) => new(Guid.NewGuid(), "Recepção", state, null, null, null, null, true, true, null, 0,
        Guid.NewGuid(), GatewayKind.Evolution, "zhabc", null, null, null, null, state == SessionState.AwaitingScan, null, DateTime.UtcNow, DateTime.UtcNow);
}
