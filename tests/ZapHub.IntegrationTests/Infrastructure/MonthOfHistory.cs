using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Time.Testing;

namespace ZapHub.IntegrationTests.Infrastructure;

/// <summary>
/// A number's month lived through the real pipeline on a test clock: every day some sends, receipts from the recipients'
/// phones, a number that is not on WhatsApp now and then, replies, a weekly dropped connection that comes back, and one
/// afternoon unlinked until the owner scans again. Each day ends only when the number's own health figures show it.
/// </summary>
public static class MonthOfHistory
{
    public sealed record Day(int Sent, int Delivered, int Read, int Failed, int Received, int Reconnections);

    public static readonly TimeZoneInfo SaoPaulo = TimeZoneInfo.FindSystemTimeZoneById("America/Sao_Paulo");

    /// <summary>A test clock at 10:00 in São Paulo, <paramref name="days"/> − 1 days before today.</summary>
    public static FakeTimeProvider Clock(int days)
    {
        var today = TimeZoneInfo.ConvertTimeFromUtc(DateTime.UtcNow, SaoPaulo).Date;
        return new FakeTimeProvider(new DateTimeOffset(TimeZoneInfo.ConvertTimeToUtc(today.AddDays(1 - days).AddHours(10), SaoPaulo)));
    }

    /// <summary>Lives <paramref name="days"/> days on an Evolution number already connected; returns what each day should show, oldest first.</summary>
    public static async Task<IReadOnlyList<Day>> LiveAsync(TestTenant t, EmulatorHost emulator, FakeTimeProvider clock, Guid session, string instance, int days)
    {
        var expected = new List<Day>();
        for (var d = 0; d < days; d++)
        {
            if (d > 0) clock.Advance(TimeSpan.FromDays(1));
            var reconnections = 0;
            if (d == days / 2)
            {
                // The phone was unlinked in the morning; the owner scanned again six hours later.
                await Http.ExpectAsync(await emulator.UnlinkAsync("evolution", instance), HttpStatusCode.OK);
                await t.WaitForStateAsync(session, "Disconnected");
                clock.Advance(TimeSpan.FromHours(6));
                await Http.ExpectAsync(await t.Owner.PostAsJsonAsync($"/api/v1/sessions/{session}/connect", new { }), HttpStatusCode.Accepted);
                await t.WaitForStateAsync(session, "AwaitingScan");
                await Http.ExpectAsync(await emulator.ScanAsync("evolution", instance), HttpStatusCode.OK);
                await t.WaitForStateAsync(session, "Connected");
                reconnections++;
            }
            if (d % 7 == 3)
            {
                await Http.ExpectAsync(await emulator.DropAsync("evolution", instance), HttpStatusCode.OK);
                await Eventually.WaitAsync(() => t.SessionAsync(session), s => s.GetProperty("state").GetString() == "Connected"
                    && s.GetProperty("connectedAt").GetDateTime() >= clock.GetUtcNow().UtcDateTime.AddSeconds(-1), "the dropped connection to come back");
                reconnections++;
            }

            var sends = 1 + d % 4;
            var (delivered, read) = (0, 0);
            for (var j = 0; j < sends; j++)
            {
                var id = await t.SendAsync(new { to = $"119{80_001_001 + d * 100 + j}", text = $"Lembrete {d}-{j}: seu horário é amanhã" });
                var providerId = (await t.WaitForMessageAsync(id, "Sent")).GetProperty("message").GetProperty("providerMessageId").GetString()!;
                if (d % 2 == 1 && j == 0) continue;
                var status = j % 2 == 0 ? "read" : "delivered";
                await Http.ExpectAsync(await emulator.AckAsync("evolution", instance, providerId, status), HttpStatusCode.OK);
                delivered++;
                if (status == "read") read++;
            }
            var failed = 0;
            if (d % 5 == 0)
            {
                await t.WaitForMessageAsync(await t.SendAsync(new { to = "(11) 93000-0000", text = "número que não usa WhatsApp" }), "Failed");
                failed++;
            }
            var received = d % 3;
            for (var r = 0; r < received; r++)
                await Http.ExpectAsync(await emulator.InboundAsync("evolution", instance, $"55119777700{r:00}", $"Obrigado! ({d}-{r})"), HttpStatusCode.OK);

            var day = new Day(sends, delivered, read, failed, received, reconnections);
            expected.Add(day);
            await Eventually.WaitAsync(() => TodayAsync(t, session), today => today == day, $"day {d} to show {day} in the number's health");
        }
        return expected;
    }

    private static async Task<Day> TodayAsync(TestTenant t, Guid session) =>
        Read((await Http.JsonAsync(await t.Owner.GetAsync($"/api/v1/sessions/{session}/health?days=1"), HttpStatusCode.OK)).GetProperty("days")[0]);

    public static Day Read(JsonElement day)
    {
        int Of(string name) => day.GetProperty(name).GetInt32();
        return new Day(Of("sent"), Of("delivered"), Of("read"), Of("failed"), Of("received"), Of("reconnections"));
    }
}
