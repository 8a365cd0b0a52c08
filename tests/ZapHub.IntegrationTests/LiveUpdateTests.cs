using Microsoft.Extensions.DependencyInjection;
using ZapHub.Features.Sessions;
using ZapHub.IntegrationTests.Infrastructure;

namespace ZapHub.IntegrationTests;

/// <summary>
/// Live updates across nodes. The notifier is read from the second node's services here because it is what the
/// dashboard's circuits subscribe to; the browser tests cover the page itself.
/// </summary>
public class LiveUpdateTests
{
    [Fact]
    public async Task AChangeOnOneNodeReachesTheSameTenantsSubscribersOnAnotherNodeOnly()
    {
        await using var nodeA = new ZapHubApp();
        var notifierA = nodeA.Services.GetRequiredService<SessionNotifier>();
        if (!TestDatabase.IsPostgres)
        {
            // The embedded SQLite default is one node: it must not try to fan out.
            Assert.False(notifierA.FansOut);
            return;
        }
        await using var nodeB = new ZapHubApp(shareDatabaseWith: nodeA);
        var notifierB = nodeB.Services.GetRequiredService<SessionNotifier>();
        await Eventually.WaitAsync(() => Task.FromResult(notifierB.FansOut), on => on, "node B to listen");

        await nodeA.RegisterGatewayAsync("Evolution", "http://127.0.0.1:9", "unused");
        var tenant = await nodeA.CreateTenantAsync();
        var heard = new TaskCompletionSource<Guid>(TaskCreationOptions.RunContinuationsAsynchronously);
        var leaked = false;
        using var mine = notifierB.Subscribe(tenant.Id, id => { heard.TrySetResult(id); return Task.CompletedTask; });
        using var others = notifierB.Subscribe(Guid.NewGuid(), _ => { leaked = true; return Task.CompletedTask; });

        var created = await tenant.CreateSessionAsync("Criado no nó A");
        var id = await heard.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(created.GetProperty("id").GetGuid(), id);
        Assert.False(leaked);
    }
}
