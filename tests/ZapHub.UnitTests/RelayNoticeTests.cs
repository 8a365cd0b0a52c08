using ZapHub.Features.Events;

namespace ZapHub.UnitTests;

/// <summary>What another node's "events relayed" notice names: the tenants whose open pages should read again.</summary>
public class RelayNoticeTests
{
    [Fact]
    public void ANoticeNamesItsTenants()
    {
        var (a, b) = (Guid.NewGuid(), Guid.NewGuid());
        var named = EventRelay.TenantsOf($"{a},{b}");
        Assert.NotNull(named);
        Assert.Equal(2, named.Count);
        Assert.Contains(a, named);
        Assert.Contains(b, named);
    }

    [Theory]
    [InlineData("")]                // a batch with too many tenants to name, or a node from before the names
    [InlineData("not-a-tenant")]    // anything unreadable is taken as "any", never as "none"
    public void ANoticeWithoutReadableNamesMeansAnyTenant(string payload) => Assert.Null(EventRelay.TenantsOf(payload));
}
