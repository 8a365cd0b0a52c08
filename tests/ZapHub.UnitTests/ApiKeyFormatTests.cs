using ZapHub.Features.Tenancy;

namespace ZapHub.UnitTests;

public class ApiKeyFormatTests
{
    [Fact]
    public void GeneratedKeysAreUniqueAndCarryTheirPrefix()
    {
        var keys = Enumerable.Range(0, 1000).Select(_ => ApiKeyFormat.Generate()).ToList();
        Assert.Equal(1000, keys.Select(k => k.Key).Distinct().Count());
        Assert.All(keys, k =>
        {
            Assert.True(ApiKeyFormat.TryGetPrefix(k.Key, out var prefix, out var kind));
            Assert.Equal(k.Prefix, prefix);
            Assert.Equal(13, prefix.Length);
            Assert.Equal(ApiKeyFormat.TenantKind, kind);
        });
    }

    [Fact]
    public void PlatformKeysAreToldApartByTheirPrefix()
    {
        var (prefix, key) = ApiKeyFormat.Generate(ApiKeyFormat.PlatformKind);
        Assert.StartsWith("zhp_", key);
        Assert.True(ApiKeyFormat.TryGetPrefix(key, out var read, out var kind));
        Assert.Equal((prefix, ApiKeyFormat.PlatformKind), (read, kind));
        Assert.Equal(14, read.Length);
    }

    [Theory]
    [InlineData("")]
    [InlineData("zh_")]
    [InlineData("sk_live_abcdefghijklmnopqrstuvwxyz")]
    [InlineData("zh_short_abc")]
    [InlineData("zh_abcdefghijXsecretwithoutseparator1234567890")]
    [InlineData("zhp_abcdefghi_secretwithashortidpart1234567890")]
    [InlineData("zhx_abcdefghij_secretofanunknownkind1234567890")]
    public void MalformedKeysHaveNoPrefix(string key) => Assert.False(ApiKeyFormat.TryGetPrefix(key, out _, out _));

    [Fact]
    public void HashIsStableAndDiffersPerKey()
    {
        var (_, a) = ApiKeyFormat.Generate();
        var (_, b) = ApiKeyFormat.Generate();
        Assert.Equal(ApiKeyFormat.Hash(a), ApiKeyFormat.Hash(a));
        Assert.NotEqual(ApiKeyFormat.Hash(a), ApiKeyFormat.Hash(b));
    }
}
