namespace ZapHub.IntegrationTests.Infrastructure;

/// <summary>
/// Tests that run several ZapHub processes under load and bound how long a takeover may take: one at a time, so that on
/// a two-core machine they do not measure each other.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ProcessCollection
{
    public const string Name = "processes under load";
}
