using System.Net;
using System.Text.Json;
using ZapHub.IntegrationTests.Infrastructure;

namespace ZapHub.IntegrationTests;

/// <summary>Each number's health (and the tenant's overview), counted from what really happened to its messages and its connection.</summary>
public class HealthTests
{
    [Fact]
    public async Task TwelveDaysOfANumberAreCountedDayByDayInTheTenantsCalendar()
    {
        const int days = 12;
        var clock = MonthOfHistory.Clock(days);
        await using var emulator = await EmulatorHost.StartAsync();
        await using var app = new ZapHubApp().UseClock(clock);
        app.ServeOverKestrel();
        await app.RegisterEmulatorAsync(emulator);
        var t = await app.CreateTenantAsync();
        var (_, key) = await t.CreateApiKeyAsync([.. ZapHub.Features.Tenancy.ApiScopes.All]);
        t = t with { Owner = app.WithApiKey(key) };
        await t.SettingsAsync(s => s["warmupDays"] = 7);
        var (session, instance) = await t.ConnectedSessionAsync(emulator, "evolution", "Evolution");

        var expected = await MonthOfHistory.LiveAsync(t, emulator, clock, session, instance, days);

        var report = await Http.JsonAsync(await t.Owner.GetAsync($"/api/v1/sessions/{session}/health?days={days}"), HttpStatusCode.OK);
        var rows = report.GetProperty("days").EnumerateArray().ToList();
        Assert.Equal(expected, rows.Select(MonthOfHistory.Read).ToList());
        var today = TimeZoneInfo.ConvertTimeFromUtc(clock.GetUtcNow().UtcDateTime, MonthOfHistory.SaoPaulo).Date;
        Assert.Equal(DateOnly.FromDateTime(today).ToString("yyyy-MM-dd"), rows[^1].GetProperty("day").GetString());
        Assert.Equal("America/Sao_Paulo", report.GetProperty("timeZone").GetString());

        // Uptime: the first day from the scan at 10:00 on; the afternoon unlinked (10:00 to 16:00) costs a quarter of its day.
        Assert.Equal(1.0, rows[0].GetProperty("uptime").GetDouble(), 3);
        Assert.Equal(0.75, rows[days / 2].GetProperty("uptime").GetDouble(), 2);
        Assert.True(rows[3].GetProperty("uptime").GetDouble() > 0.999, "a dropped connection that came back at once costs next to nothing");

        var totals = report.GetProperty("totals");
        Assert.Equal(expected.Sum(d => d.Sent), totals.GetProperty("sent").GetInt32());
        Assert.Equal(expected.Sum(d => d.Received), totals.GetProperty("received").GetInt32());
        Assert.Equal(expected.Sum(d => d.Reconnections), totals.GetProperty("reconnections").GetInt32());
        Assert.Equal((double)expected.Sum(d => d.Delivered) / expected.Sum(d => d.Sent), totals.GetProperty("deliveryRate").GetDouble(), 6);
        Assert.Equal((double)expected.Sum(d => d.Read) / expected.Sum(d => d.Delivered), totals.GetProperty("readRate").GetDouble(), 6);

        // Today's use of the daily limit; warm-up is over for a number linked twelve days ago.
        var limit = Assert.Single(report.GetProperty("limits").EnumerateArray());
        Assert.Equal(expected[^1].Sent + expected[^1].Failed, limit.GetProperty("sentToday").GetInt32());
        Assert.Equal(JsonValueKind.Null, limit.GetProperty("warmupDay").ValueKind);

        // The overview adds a number linked today: its warm-up day and limit show; the days add up over both numbers.
        var (second, _) = await t.ConnectedSessionAsync(emulator, "evolution", "Evolution", "Caixa", "5511999990002");
        await t.SendAsync(new { to = "11988887777", text = "primeira mensagem do caixa", sessionId = second });
        var overview = await Eventually.WaitAsync(async () => await Http.JsonAsync(await t.Owner.GetAsync($"/api/v1/sessions/health?days={days}"), HttpStatusCode.OK),
            // The day's count and the number's use of its limit are written by different steps of the send: wait for both.
            o => o.GetProperty("days")[days - 1].GetProperty("sent").GetInt32() == expected[^1].Sent + 1
                && o.GetProperty("limits").EnumerateArray().Any(l => l.GetProperty("sessionId").GetGuid() == second && l.GetProperty("sentToday").GetInt32() == 1),
            "the second number's send in the overview");
        var fresh = overview.GetProperty("limits").EnumerateArray().Single(l => l.GetProperty("sessionId").GetGuid() == second);
        Assert.Equal(1, fresh.GetProperty("warmupDay").GetInt32());
        Assert.Equal(7, fresh.GetProperty("warmupDays").GetInt32());
        Assert.Equal(50, fresh.GetProperty("dailyLimit").GetInt32());
        Assert.Equal(1, fresh.GetProperty("sentToday").GetInt32());
        Assert.Equal(JsonValueKind.Null, overview.GetProperty("sessionId").ValueKind);

        // Bad input is a clear 400; another tenant's number does not exist for this tenant.
        var bad = await Http.JsonAsync(await t.Owner.GetAsync($"/api/v1/sessions/{session}/health?days=0"), HttpStatusCode.BadRequest);
        Assert.Equal("health_days", bad.GetProperty("code").GetString());
        var other = await app.CreateTenantAsync();
        await Http.JsonAsync(await other.Owner.GetAsync($"/api/v1/sessions/{session}/health"), HttpStatusCode.NotFound);
    }
}
