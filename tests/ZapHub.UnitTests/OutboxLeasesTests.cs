using ZapHub.Platform.Cluster;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using ZapHub.Data;
using ZapHub.Features.Gateways;
using ZapHub.Features.Messages;
using ZapHub.Features.Sessions;
using ZapHub.Features.Tenancy;
using ZapHub.Gateways;

namespace ZapHub.UnitTests;

/// <summary>
/// Two nodes' leases on one real SQLite outbox, on a test clock: who takes what, how much per number, and what becomes
/// of a dead node's messages.
/// </summary>
public sealed class OutboxLeasesTests : IDisposable
{
    private readonly string file = Path.Combine(Path.GetTempPath(), $"zaphub-outbox-{Guid.NewGuid():N}.db");
    private readonly string connectionString;
    private readonly FakeTimeProvider clock = new(new DateTimeOffset(2026, 12, 2, 15, 0, 0, TimeSpan.Zero));
    private readonly ServiceProvider services;
    private readonly MessagingOptions options = new() { LeaseDuration = TimeSpan.FromSeconds(30), MaxLeasedPerSession = 3 };
    private readonly Guid tenant, number, other;

    public OutboxLeasesTests()
    {
        // A writer waits a second for the lock, so a held lock reads as a database that is away.
        connectionString = new SqliteConnectionStringBuilder { DataSource = file, DefaultTimeout = 1, Pooling = false }.ToString();
        var collection = new ServiceCollection();
        collection.AddScoped<TenantContext>();
        collection.AddScoped<ZapHubDb>(sp => new SqliteZapHubDb(new DbContextOptionsBuilder<SqliteZapHubDb>().UseSqlite(connectionString).Options).ActFor(sp.GetRequiredService<TenantContext>()));
        services = collection.BuildServiceProvider();
        using var scope = services.CreateScope();
        var context = scope.ServiceProvider.GetRequiredService<TenantContext>();
        context.UsePlatformScope();
        var db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        db.Database.Migrate();
        var t = new Tenant { Name = "Barbearia", Slug = "barbearia" };
        var gateway = new Gateway { Name = "evo", BaseUrl = "http://evo", ProtectedCredentials = "x", Kind = GatewayKind.Evolution };
        db.Tenants.Add(t);
        db.Gateways.Add(gateway);
        db.SaveChanges();
        context.Set(t.Id, TenantRole.Owner);
        var a = new Session { TenantId = t.Id, GatewayId = gateway.Id, DisplayName = "Recepção", InstanceName = "a", State = SessionState.Connected, CallbackSecretHash = new byte[32], ProtectedCallbackSecret = "x" };
        var b = new Session { TenantId = t.Id, GatewayId = gateway.Id, DisplayName = "Caixa", InstanceName = "b", State = SessionState.Connected, CallbackSecretHash = new byte[32], ProtectedCallbackSecret = "x" };
        db.Sessions.AddRange(a, b);
        db.MessagingSettings.Add(new MessagingSettings { TenantId = t.Id, InDoubt = InDoubtPolicy.Hold });
        db.SaveChanges();
        (tenant, number, other) = (t.Id, a.Id, b.Id);
    }

    public void Dispose()
    {
        services.Dispose();
        File.Delete(file);
    }

    private DateTime Now => clock.GetUtcNow().UtcDateTime;

    private OutboxLeases Node(string name) =>
        new(services.GetRequiredService<IServiceScopeFactory>(), Options.Create(options), new NodeIdentity(), new SendRules(), new WriteGate(), NullLogger<OutboxLeases>.Instance);

    private List<Guid> Queue(Guid session, int count)
    {
        using var scope = Scope(out var db);
        var messages = Enumerable.Range(0, count).Select(i => new Message
        {
            TenantId = tenant, SessionId = session, Peer = "+5511988887777", Text = $"m{i}", Status = MessageStatus.Queued,
            DueAt = Now.AddSeconds(-count + i), CreatedAt = Now, UpdatedAt = Now,
        }).ToList();
        db.Messages.AddRange(messages);
        db.SaveChanges();
        return messages.Select(m => m.Id).ToList();
    }

    private IServiceScope Scope(out ZapHubDb db)
    {
        var scope = services.CreateScope();
        scope.ServiceProvider.GetRequiredService<TenantContext>().UseWorkerScope();
        db = scope.ServiceProvider.GetRequiredService<ZapHubDb>();
        return scope;
    }

    private Message Read(Guid id)
    {
        using var scope = Scope(out var db);
        return db.Messages.IgnoreQueryFilters().AsNoTracking().Single(m => m.Id == id);
    }

    [Fact]
    public async Task ANodeTakesTheLongestDueFirstAndAFewPerNumberSoOneBusyNumberCannotCrowdOutTheOthers()
    {
        var busy = Queue(number, 10);
        var quiet = Queue(other, 2);
        var taken = await Node("a").TakeAsync(Now, 100, [], CancellationToken.None);
        Assert.Equal(3, taken.Count(m => m.SessionId == number));
        Assert.Equal(2, taken.Count(m => m.SessionId == other));
        Assert.Equal(busy.Take(3), taken.Where(m => m.SessionId == number).Select(m => m.Id));
        // Taken once: the other node finds only what is left.
        var second = await Node("b").TakeAsync(Now, 100, [], CancellationToken.None);
        Assert.Equal(busy.Skip(3).Take(3), second.Select(m => m.Id));
        Assert.DoesNotContain(second, m => quiet.Contains(m.Id));
    }

    [Fact]
    public async Task ALiveNodeKeepsItsLeasesAndADeadNodesComeBack()
    {
        var ids = Queue(number, 3);
        var alive = Node("alive");
        var dead = Node("dead");
        await alive.TakeAsync(Now, 1, [], CancellationToken.None);
        await dead.TakeAsync(Now, 2, [], CancellationToken.None);

        // Twenty seconds, a renewal by the live node only, then past the first leases' end.
        clock.Advance(TimeSpan.FromSeconds(20));
        await alive.RenewAsync(Now, CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(15));
        Assert.True(await alive.SweepAsync(Now, CancellationToken.None), "the dead node's messages are sendable again");
        Assert.NotNull(Read(ids[0]).LeaseOwner);
        Assert.All(ids.Skip(1), id => Assert.Null(Read(id).LeaseOwner));
        Assert.Equal(ids.Skip(1), (await alive.TakeAsync(Now, 10, [], CancellationToken.None)).Select(m => m.Id));
    }

    [Theory]
    [InlineData(InDoubtPolicy.Hold, MessageStatus.InDoubt)]
    [InlineData(InDoubtPolicy.Resend, MessageStatus.Queued)]
    public async Task AMessageThatDiedMidSendIsInDoubtAndTheTenantsPolicyDecides(InDoubtPolicy policy, MessageStatus becomes)
    {
        using (var scope = Scope(out var db))
        {
            db.MessagingSettings.IgnoreQueryFilters().Single().InDoubt = policy;
            db.SaveChanges();
        }
        var id = Queue(number, 1)[0];
        var dead = Node("dead");
        await dead.TakeAsync(Now, 1, [], CancellationToken.None);
        using (var scope = Scope(out var db))
            await db.Messages.IgnoreQueryFilters().Where(m => m.Id == id).ExecuteUpdateAsync(u => u.SetProperty(m => m.Status, MessageStatus.Sending));

        clock.Advance(options.LeaseDuration + TimeSpan.FromSeconds(1));
        Assert.True(await Node("survivor").SweepAsync(Now, CancellationToken.None));
        var message = Read(id);
        Assert.Equal(becomes, message.Status);
        Assert.True(message.WasInDoubt);
        Assert.Null(message.LeaseOwner);
    }

    [Fact]
    public async Task AMessageHandedBackWhileTheDatabaseWasAwayIsHandedBackAtTheNextRenewal()
    {
        var id = Queue(number, 1)[0];
        var node = Node("a");
        await node.TakeAsync(Now, 1, [], CancellationToken.None);
        using (var other = new SqliteConnection(connectionString))
        {
            other.Open();
            using var hold = other.CreateCommand();
            hold.CommandText = "BEGIN EXCLUSIVE";
            hold.ExecuteNonQuery();
            await node.ReleaseAsync(id, Now);
        }
        Assert.NotNull(Read(id).LeaseOwner);
        Assert.True(await node.RenewAsync(Now, CancellationToken.None));
        Assert.Null(Read(id).LeaseOwner);
    }
}
