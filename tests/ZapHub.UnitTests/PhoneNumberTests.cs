using ZapHub.Features.Sessions;
using ZapHub.Platform;

namespace ZapHub.UnitTests;

public class PhoneNumberTests
{
    [Theory]
    [InlineData("(11) 99999-0001", "+5511999990001")]
    [InlineData("+55 11 99999-0001", "+5511999990001")]
    [InlineData("11999990001", "+5511999990001")]
    [InlineData("011 99999 0001", "+5511999990001")]
    [InlineData("11 8888-0001", "+5511988880001")]
    [InlineData("11 3333-0001", "+551133330001")]
    [InlineData("+1 650 253 0000", "+16502530000")]
    public void CommonWaysOfTypingANumber(string typed, string e164) => Assert.Equal(e164, PhoneNumberRules.ToE164(typed));

    [Theory]
    [InlineData("+5511987021371", "(11) 98702-1371")]
    [InlineData("+551133330001", "(11) 3333-0001")]
    [InlineData("+16502530000", "+1 650-253-0000")]
    [InlineData("120363041234567890@g.us", "120363041234567890@g.us")]
    [InlineData("+999", "+999")]
    public void NumbersAreShownAsPeopleWriteThem(string stored, string shown) => Assert.Equal(shown, PhoneNumberRules.ForPeople(stored));

    [Theory]
    [InlineData("")]
    [InlineData("123")]
    [InlineData("abc")]
    [InlineData("(11) 1234")]
    [InlineData("+55 00 0000-0000")]
    public void NonsenseIsAFieldError(string typed)
    {
        var error = Assert.Throws<ProblemException>(() => PhoneNumberRules.ToE164(typed));
        Assert.Equal("to", error.Field);
    }

    [Fact]
    public void TheTenantsDayStartsAtLocalMidnight()
    {
        var justBeforeMidnightInSaoPaulo = new DateTimeOffset(2026, 11, 23, 2, 59, 0, TimeSpan.Zero);
        Assert.Equal("2026-11-22", SessionService.TenantDay(justBeforeMidnightInSaoPaulo, "America/Sao_Paulo"));
        Assert.Equal("2026-11-23", SessionService.TenantDay(justBeforeMidnightInSaoPaulo.AddMinutes(2), "America/Sao_Paulo"));
    }
}
