using ZapHub.Platform.Cluster;

namespace ZapHub.UnitTests;

public class WorkPartitionsTests
{
    /// <summary>
    /// The migration that introduced partitions computed them in SQL from the id's text (its last hexadecimal digit, on
    /// either database); rows written since get them from <see cref="WorkPartitions.Of"/>. The two must agree.
    /// </summary>
    [Fact]
    public void APartitionIsTheLastHexDigitOfTheIdAsText()
    {
        for (var i = 0; i < 2000; i++)
        {
            var id = i % 2 == 0 ? Guid.NewGuid() : Guid.CreateVersion7();
            Assert.Equal("0123456789abcdef".IndexOf(id.ToString()[^1]), WorkPartitions.Of(id));
            Assert.Equal("0123456789abcdef".IndexOf(char.ToLowerInvariant(id.ToString().ToUpperInvariant()[^1])), WorkPartitions.Of(id));
        }
    }

    [Fact]
    public void IdsSpreadOverEveryPartition()
    {
        var counts = Enumerable.Range(0, 16_000).Select(_ => WorkPartitions.Of(Guid.CreateVersion7())).GroupBy(p => p).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(WorkPartitions.Count, counts.Count);
        Assert.All(counts.Values, n => Assert.InRange(n, 800, 1200));
    }
}
