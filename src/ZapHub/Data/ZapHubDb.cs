using System.Linq.Expressions;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using ZapHub.Features.Accounts;
using ZapHub.Features.Events;
using ZapHub.Features.Gateways;
using ZapHub.Features.Messages;
using ZapHub.Features.Sessions;
using ZapHub.Platform.Cluster;
using ZapHub.Features.GatewayWebhooks;
using ZapHub.Features.Tenancy;

namespace ZapHub.Data;

/// <summary>
/// The one database context. Each provider has a subclass only so that its migrations live apart
/// (see docs/adr/0002-storage.md); the model is defined once, here.
/// </summary>
public abstract class ZapHubDb(DbContextOptions options)
    : IdentityDbContext<User, IdentityRole<Guid>, Guid>(options), IDataProtectionKeyContext
{
    public const string TenantFilter = "Tenant";

    /// <summary>No tenant and not the platform: sees no tenant rows and may write none.</summary>
    private static readonly TenantContext NoTenant = new();
    private TenantContext tenant = NoTenant;

    /// <summary>
    /// The scope this context works for. Contexts are pooled (creating one per scope cost more than a small request's
    /// queries), so the scope's tenant is handed over here, and taken back when the context returns to the pool.
    /// </summary>
    public ZapHubDb ActFor(TenantContext scope)
    {
        tenant = scope;
        return this;
    }

    public override void Dispose()
    {
        (tenant, WroteEvents) = (NoTenant, false);
        base.Dispose();
    }

    public override ValueTask DisposeAsync()
    {
        (tenant, WroteEvents) = (NoTenant, false);
        return base.DisposeAsync();
    }

    /// <summary>Read by the query filters; EF Core parameterizes it per context instance.</summary>
    private Guid? CurrentTenantId => tenant.TenantId;

    public DbSet<Tenant> Tenants => Set<Tenant>();
    public DbSet<Membership> Memberships => Set<Membership>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();
    public DbSet<Features.PlatformKeys.PlatformKey> PlatformKeys => Set<Features.PlatformKeys.PlatformKey>();
    public DbSet<Features.ConnectLinks.ConnectLink> ConnectLinks => Set<Features.ConnectLinks.ConnectLink>();
    public DbSet<AuditEntry> AuditEntries => Set<AuditEntry>();
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();
    public DbSet<Gateway> Gateways => Set<Gateway>();
    public DbSet<GatewayLeftover> GatewayLeftovers => Set<GatewayLeftover>();
    public DbSet<Session> Sessions => Set<Session>();
    public DbSet<SessionEvent> SessionEvents => Set<SessionEvent>();
    public DbSet<GatewayEvent> GatewayEvents => Set<GatewayEvent>();
    public DbSet<Message> Messages => Set<Message>();
    public DbSet<MessageEvent> MessageEvents => Set<MessageEvent>();
    public DbSet<PendingReceipt> PendingReceipts => Set<PendingReceipt>();
    public DbSet<Contact> Contacts => Set<Contact>();
    public DbSet<Template> Templates => Set<Template>();
    public DbSet<MediaFile> MediaFiles => Set<MediaFile>();
    public DbSet<MessagingSettings> MessagingSettings => Set<MessagingSettings>();
    public DbSet<EventRecord> Events => Set<EventRecord>();
    public DbSet<WebhookEndpoint> WebhookEndpoints => Set<WebhookEndpoint>();
    public DbSet<WebhookDelivery> WebhookDeliveries => Set<WebhookDelivery>();
    public DbSet<WebhookAttempt> WebhookAttempts => Set<WebhookAttempt>();
    public DbSet<WorkLease> WorkLeases => Set<WorkLease>();

    /// <summary>Set when this unit of work added events, so the relay is woken once they are committed.</summary>
    public bool WroteEvents { get; set; }

    protected override void OnModelCreating(ModelBuilder b)
    {
        base.OnModelCreating(b);

        b.Entity<Tenant>(e =>
        {
            e.HasIndex(t => t.Slug).IsUnique();
            e.Property(t => t.Name).HasMaxLength(120);
            e.Property(t => t.Slug).HasMaxLength(60);
            e.Property(t => t.TimeZone).HasMaxLength(64);
            e.Property(t => t.Locale).HasMaxLength(10);
            e.Property(t => t.LogoUrl).HasMaxLength(500);
            e.Property(t => t.BrandColor).HasMaxLength(7);
            e.Property(t => t.EmbedOrigins).HasMaxLength(2000);
            e.Ignore(t => t.EmbedOriginList);
        });
        b.Entity<Membership>(e =>
        {
            e.HasIndex(m => new { m.TenantId, m.UserId }).IsUnique();
            e.HasIndex(m => m.UserId);
            e.HasOne(m => m.User).WithMany().HasForeignKey(m => m.UserId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne(m => m.Tenant).WithMany().HasForeignKey(m => m.TenantId).OnDelete(DeleteBehavior.Cascade);
            e.Property(m => m.Role).HasConversion<string>().HasMaxLength(16);
        });
        b.Entity<ApiKey>(e =>
        {
            e.HasIndex(k => k.Prefix).IsUnique();
            e.HasIndex(k => k.TenantId);
            e.HasOne<Tenant>().WithMany().HasForeignKey(k => k.TenantId).OnDelete(DeleteBehavior.Cascade);
            e.Property(k => k.Name).HasMaxLength(100);
            e.Property(k => k.Prefix).HasMaxLength(20);
            e.Property(k => k.Scopes).HasMaxLength(200);
            e.Ignore(k => k.ScopeList);
        });
        b.Entity<Features.PlatformKeys.PlatformKey>(e =>
        {
            e.HasIndex(k => k.Prefix).IsUnique();
            e.Property(k => k.Name).HasMaxLength(100);
            e.Property(k => k.Prefix).HasMaxLength(20);
            e.Property(k => k.Scopes).HasMaxLength(300);
            e.Ignore(k => k.ScopeList);
        });
        b.Entity<Features.ConnectLinks.ConnectLink>(e =>
        {
            e.HasIndex(l => l.TokenHash).IsUnique();
            e.HasIndex(l => new { l.TenantId, l.SessionId, l.CreatedAt });
            e.HasOne<Tenant>().WithMany().HasForeignKey(l => l.TenantId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<Features.Sessions.Session>().WithMany().HasForeignKey(l => l.SessionId).OnDelete(DeleteBehavior.Cascade);
            e.Property(l => l.Method).HasMaxLength(16);
            e.Property(l => l.Locale).HasMaxLength(16);
            e.Property(l => l.ReturnUrl).HasMaxLength(1000);
            e.Property(l => l.CreatedBy).HasMaxLength(256);
        });
        b.Entity<AuditEntry>(e =>
        {
            e.HasIndex(a => new { a.TenantId, a.At });
            e.HasIndex(a => a.At);
            e.Property(a => a.ActorKind).HasConversion<string>().HasMaxLength(16);
            e.Property(a => a.Action).HasMaxLength(64);
            e.Property(a => a.ActorName).HasMaxLength(256);
            e.Property(a => a.Details).HasMaxLength(2000);
            e.HasQueryFilter(TenantFilter, a => a.TenantId == CurrentTenantId);
        });

        b.Entity<Gateway>(e =>
        {
            e.Property(g => g.Name).HasMaxLength(100);
            e.Property(g => g.BaseUrl).HasMaxLength(500);
            e.Property(g => g.Kind).HasConversion<string>().HasMaxLength(16);
            e.Property(g => g.UnreachableNote).HasMaxLength(1000);
            e.HasOne<Tenant>().WithMany().HasForeignKey(g => g.OwnerTenantId).OnDelete(DeleteBehavior.Cascade);
        });
        b.Entity<WorkLease>(e =>
        {
            e.HasKey(l => new { l.Role, l.Partition });
            e.Property(l => l.Role).HasMaxLength(32);
            e.Property(l => l.Holder).HasMaxLength(100);
        });
        b.Entity<GatewayLeftover>(e =>
        {
            e.Property(l => l.InstanceName).HasMaxLength(40);
            e.Property(l => l.Kind).HasMaxLength(32);
            e.Property(l => l.ResolvedBy).HasMaxLength(200);
            e.HasIndex(l => new { l.GatewayId, l.ResolvedAt });
            e.HasOne<Gateway>().WithMany().HasForeignKey(l => l.GatewayId).OnDelete(DeleteBehavior.Cascade);
        });
        b.Entity<Session>(e =>
        {
            e.HasIndex(s => new { s.GatewayId, s.InstanceName }).IsUnique();
            e.Property(s => s.LastRefusedInstance).HasMaxLength(SessionSecrets.MaxInstanceName);
            e.HasIndex(s => new { s.TenantId, s.State });
            // The tenant's list in its order (primary first, then oldest): a page is read from the index, not a sort.
            e.HasIndex(s => new { s.TenantId, s.IsPrimary, s.CreatedAt, s.Id }, "IX_Sessions_TenantList").IsDescending(false, true, false, false);
            e.HasIndex(s => s.State);
            e.HasOne<Tenant>().WithMany().HasForeignKey(s => s.TenantId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<Gateway>().WithMany().HasForeignKey(s => s.GatewayId).OnDelete(DeleteBehavior.Restrict);
            e.Property(s => s.State).HasConversion<string>().HasMaxLength(16);
            e.Property(s => s.DisplayName).HasMaxLength(100);
            e.Property(s => s.InstanceName).HasMaxLength(40);
            e.Property(s => s.Reference).HasMaxLength(SessionReference.MaxReference);
            e.Property(s => s.Metadata).HasMaxLength(SessionReference.MaxMetadata);
            e.HasIndex(s => new { s.TenantId, s.Reference }).HasFilter("\"Reference\" IS NOT NULL");
            e.Property(s => s.Phone).HasMaxLength(32);
            e.Property(s => s.SentTodayDate).HasMaxLength(10);
            e.Property(s => s.Version).IsConcurrencyToken();
        });
        b.Entity<SessionEvent>(e =>
        {
            e.HasIndex(x => new { x.SessionId, x.At });
            e.HasOne<Session>().WithMany().HasForeignKey(x => x.SessionId).OnDelete(DeleteBehavior.Cascade);
            e.Property(x => x.FromState).HasConversion<string>().HasMaxLength(16);
            e.Property(x => x.ToState).HasConversion<string>().HasMaxLength(16);
            e.Property(x => x.Cause).HasMaxLength(64);
        });
        b.Entity<GatewayEvent>(e =>
        {
            e.HasIndex(x => new { x.SessionId, x.DedupeKey }).IsUnique();
            // The processor's work list: what arrived and is not processed yet.
            // The processors' work lists: per partition, what arrived and is not processed yet.
            e.HasIndex(x => new { x.Partition, x.Id }, "IX_GatewayEvents_Unprocessed").HasFilter("\"ProcessedAt\" IS NULL");
            e.HasOne<Session>().WithMany().HasForeignKey(x => x.SessionId).OnDelete(DeleteBehavior.Cascade);
            e.Property(x => x.DedupeKey).HasMaxLength(100);
        });

        b.Entity<Message>(e =>
        {
            // The dispatcher's lease query reads only unleased waiting messages, in due order: a partial index, so the
            // rows a node already holds (up to thousands) are not walked past on every lease.
            e.HasIndex(m => m.DueAt, "IX_Messages_Leasable").HasFilter("\"Status\" IN ('Queued', 'Scheduled', 'Held') AND \"LeaseOwner\" IS NULL");
            // Receipts racing their send ask which numbers have a send under way.
            e.HasIndex(m => m.SessionId, "IX_Messages_InFlight").HasFilter("\"Status\" = 'Sending'");
            // The tenant's list and conversations, receipts correlated by provider id, idempotency. Every index costs each
            // of a message's four writes (accepted, leased, sending, sent), so the queue's own indexes are partial.
            e.HasIndex(m => new { m.TenantId, m.CreatedAt });
            e.HasIndex(m => new { m.TenantId, m.Peer, m.CreatedAt });
            // One provider id per number, and receipts find their messages by provider id alone, one probe each (with the
            // number first, an array for each column would probe every pair). Partial: a message has none until it is sent.
            e.HasIndex(m => new { m.ProviderMessageId, m.SessionId }, "IX_Messages_ProviderMessageId").IsUnique().HasFilter("\"ProviderMessageId\" IS NOT NULL");
            e.HasIndex(m => new { m.TenantId, m.IdempotencyKey }).IsUnique().HasFilter("\"IdempotencyKey\" IS NOT NULL");
            // A node's leases (renewal, hand-back) and expired ones (the sweep).
            e.HasIndex(m => m.LeaseOwner).HasFilter("\"LeaseOwner\" IS NOT NULL");
            e.HasOne<Tenant>().WithMany().HasForeignKey(m => m.TenantId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<Session>().WithMany().HasForeignKey(m => m.SessionId).OnDelete(DeleteBehavior.SetNull);
            e.Property(m => m.Direction).HasConversion<string>().HasMaxLength(10);
            e.Property(m => m.Status).HasConversion<string>().HasMaxLength(12);
            e.Property(m => m.Route).HasConversion<string>().HasMaxLength(10);
            e.Property(m => m.Class).HasConversion<string>().HasMaxLength(16);
            e.Property(m => m.MediaKind).HasConversion<string>().HasMaxLength(10);
            e.Property(m => m.StatusReason).HasMaxLength(1000);
            e.Property(m => m.FailureCategory).HasMaxLength(32);
            e.Property(m => m.Peer).HasMaxLength(64);
            e.Property(m => m.PeerName).HasMaxLength(120);
            e.Property(m => m.Text).HasMaxLength(4096);
            e.Property(m => m.MediaUrl).HasMaxLength(2000);
            e.Property(m => m.MediaFileName).HasMaxLength(200);
            e.Property(m => m.MediaMimeType).HasMaxLength(100);
            e.Property(m => m.TemplateName).HasMaxLength(60);
            e.Property(m => m.TemplateVariables).HasMaxLength(4000);
            e.Property(m => m.IdempotencyKey).HasMaxLength(100);
            e.Property(m => m.LeaseOwner).HasMaxLength(64);
            e.Property(m => m.ProviderMessageId).HasMaxLength(128);
            e.Property(m => m.Version).IsConcurrencyToken();
            e.Ignore(m => m.IsFinal);
        });
        b.Entity<MessageEvent>(e =>
        {
            e.HasIndex(x => new { x.MessageId, x.Id });
            e.HasOne<Message>().WithMany().HasForeignKey(x => x.MessageId).OnDelete(DeleteBehavior.Cascade);
            e.Property(x => x.Status).HasConversion<string>().HasMaxLength(12);
            e.Property(x => x.Detail).HasMaxLength(500);
            e.Property(x => x.Node).HasMaxLength(64);
        });
        b.Entity<PendingReceipt>(e =>
        {
            // The ledger hands over the sends it recorded by provider id: one probe each, the number checked on the row
            // (with the number first, an array for each column would probe every pair).
            e.HasIndex(x => new { x.ProviderMessageId, x.SessionId });
            e.Property(x => x.ProviderMessageId).HasMaxLength(128);
            e.Property(x => x.Status).HasConversion<string>().HasMaxLength(12);
        });
        b.Entity<Contact>(e =>
        {
            e.HasIndex(c => new { c.TenantId, c.Peer }).IsUnique();
            e.HasOne<Tenant>().WithMany().HasForeignKey(c => c.TenantId).OnDelete(DeleteBehavior.Cascade);
            e.Property(c => c.Peer).HasMaxLength(64);
            e.Property(c => c.Name).HasMaxLength(120);
            e.Property(c => c.OptOutText).HasMaxLength(200);
        });
        b.Entity<Template>(e =>
        {
            e.HasIndex(t => new { t.TenantId, t.Name }).IsUnique();
            e.HasOne<Tenant>().WithMany().HasForeignKey(t => t.TenantId).OnDelete(DeleteBehavior.Cascade);
            e.Property(t => t.Name).HasMaxLength(60);
            e.Property(t => t.Body).HasMaxLength(4096);
            e.Property(t => t.Class).HasConversion<string>().HasMaxLength(16);
        });
        b.Entity<MediaFile>(e =>
        {
            e.HasIndex(f => new { f.TenantId, f.CreatedAt });
            e.HasOne<Tenant>().WithMany().HasForeignKey(f => f.TenantId).OnDelete(DeleteBehavior.Cascade);
            e.Property(f => f.FileName).HasMaxLength(200);
            e.Property(f => f.MimeType).HasMaxLength(100);
        });
        b.Entity<MessagingSettings>(e =>
        {
            e.HasKey(x => x.TenantId);
            e.HasOne<Tenant>().WithOne().HasForeignKey<MessagingSettings>(x => x.TenantId).OnDelete(DeleteBehavior.Cascade);
            e.Property(x => x.InDoubt).HasConversion<string>().HasMaxLength(10);
            e.Property(x => x.OptOutKeywords).HasMaxLength(300);
        });
        b.Entity<EventRecord>(e =>
        {
            e.ToTable("Events");
            // Stream cursors read numbered events only; partial, so writing an event (unnumbered) costs two index entries less.
            // The relay's work list: committed events not yet numbered.
            e.HasIndex(x => new { x.Partition, x.Id }, "IX_Events_Unsequenced").HasFilter("\"Sequence\" IS NULL");
            // Where each partition's numbering stands.
            e.HasIndex(x => new { x.Partition, x.Sequence }, "IX_Events_PartitionSequence").HasFilter("\"Sequence\" IS NOT NULL");
            e.HasIndex(x => new { x.TenantId, x.Sequence }).HasFilter("\"Sequence\" IS NOT NULL");
            e.HasIndex(x => new { x.TenantId, x.OccurredAt });
            e.HasIndex(x => x.PublicId).IsUnique();
            e.HasOne<Tenant>().WithMany().HasForeignKey(x => x.TenantId).OnDelete(DeleteBehavior.Cascade);
            e.Property(x => x.PublicId).HasMaxLength(40);
            e.Property(x => x.Type).HasMaxLength(40);
        });
        b.Entity<WebhookEndpoint>(e =>
        {
            e.HasIndex(x => x.TenantId);
            e.HasOne<Tenant>().WithMany().HasForeignKey(x => x.TenantId).OnDelete(DeleteBehavior.Cascade);
            e.Property(x => x.Url).HasMaxLength(2000);
            e.Property(x => x.Description).HasMaxLength(200);
            e.Property(x => x.EventTypes).HasMaxLength(500);
            e.Property(x => x.DisabledReason).HasMaxLength(300);
            e.Ignore(x => x.EventTypeList);
        });
        b.Entity<WebhookDelivery>(e =>
        {
            e.HasIndex(x => new { x.Status, x.NextAttemptAt });
            e.HasIndex(x => new { x.EndpointId, x.Id });
            e.HasIndex(x => x.EventId);
            e.HasOne<WebhookEndpoint>().WithMany().HasForeignKey(x => x.EndpointId).OnDelete(DeleteBehavior.Cascade);
            e.HasOne<EventRecord>().WithMany().HasForeignKey(x => x.EventId).OnDelete(DeleteBehavior.Cascade);
            e.Property(x => x.Status).HasConversion<string>().HasMaxLength(10);
            e.Property(x => x.Origin).HasMaxLength(12);
            e.Property(x => x.LastError).HasMaxLength(300);
        });
        b.Entity<WebhookAttempt>(e =>
        {
            e.HasIndex(x => new { x.EndpointId, x.Id });
            e.HasIndex(x => x.DeliveryId);
            e.HasOne<WebhookDelivery>().WithMany().HasForeignKey(x => x.DeliveryId).OnDelete(DeleteBehavior.Cascade);
            e.Property(x => x.Response).HasMaxLength(500);
            e.Property(x => x.Error).HasMaxLength(300);
        });

        foreach (var type in b.Model.GetEntityTypes().Where(t => typeof(ITenantOwned).IsAssignableFrom(t.ClrType)))
            b.Entity(type.ClrType).HasQueryFilter(TenantFilter, TenantPredicate(type.ClrType));

        // All times are UTC. SQLite hands DateTime back as Unspecified; mark it so comparisons and JSON stay honest.
        foreach (var property in b.Model.GetEntityTypes().SelectMany(t => t.GetProperties()))
        {
            if (property.ClrType == typeof(DateTime))
                property.SetValueConverter(UtcConverter);
            else if (property.ClrType == typeof(DateTime?))
                property.SetValueConverter(NullableUtcConverter);
        }
    }

    private LambdaExpression TenantPredicate(Type entityType)
    {
        // e => (Guid?)e.TenantId == this.CurrentTenantId ; no tenant set means no rows.
        var e = Expression.Parameter(entityType, "e");
        var tenantId = Expression.Convert(Expression.Property(e, nameof(ITenantOwned.TenantId)), typeof(Guid?));
        var current = Expression.Property(Expression.Constant(this, typeof(ZapHubDb)), nameof(CurrentTenantId));
        return Expression.Lambda(Expression.Equal(tenantId, current), e);
    }

    private static readonly Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter<DateTime, DateTime> UtcConverter =
        new(v => v.Kind == DateTimeKind.Utc ? v : v.ToUniversalTime(), v => DateTime.SpecifyKind(v, DateTimeKind.Utc));

    private static readonly Microsoft.EntityFrameworkCore.Storage.ValueConversion.ValueConverter<DateTime?, DateTime?> NullableUtcConverter =
        new(v => v.HasValue ? (v.Value.Kind == DateTimeKind.Utc ? v : v.Value.ToUniversalTime()) : v,
            v => v.HasValue ? DateTime.SpecifyKind(v.Value, DateTimeKind.Utc) : v);

    public override int SaveChanges(bool acceptAllChangesOnSuccess)
    {
        EnforceTenant();
        BumpVersions();
        return base.SaveChanges(acceptAllChangesOnSuccess);
    }

    public override Task<int> SaveChangesAsync(bool acceptAllChangesOnSuccess, CancellationToken cancellationToken = default)
    {
        EnforceTenant();
        BumpVersions();
        return base.SaveChangesAsync(acceptAllChangesOnSuccess, cancellationToken);
    }

    private void BumpVersions()
    {
        foreach (var entry in ChangeTracker.Entries<Session>().Where(e => e.State == EntityState.Modified))
            entry.Entity.Version++;
        foreach (var entry in ChangeTracker.Entries<Message>().Where(e => e.State == EntityState.Modified))
            entry.Entity.Version++;
    }

    /// <summary>
    /// The second isolation layer: a write of a tenant-owned row must belong to the scope's tenant. A worker scope
    /// (many tenants' rows in one group commit) may write rows of any tenant, but never one without a tenant and never
    /// one moved from the tenant it was read with. Only a platform-wide scope (operator console, bootstrap) is unchecked.
    /// </summary>
    private void EnforceTenant()
    {
        if (tenant.IsPlatform) return;
        foreach (var entry in ChangeTracker.Entries<ITenantOwned>())
        {
            if (entry.State is not (EntityState.Added or EntityState.Modified or EntityState.Deleted)) continue;
            var original = entry.State == EntityState.Added
                ? entry.Entity.TenantId
                : entry.Property(nameof(ITenantOwned.TenantId)).OriginalValue as Guid? ?? Guid.Empty;
            if (tenant.IsWorker)
            {
                if (entry.Entity.TenantId == Guid.Empty)
                    throw new TenantIsolationException($"A worker wrote a {entry.Metadata.ClrType.Name} without a tenant.");
                if (entry.Entity.TenantId != original)
                    throw new TenantIsolationException($"A worker moved a {entry.Metadata.ClrType.Name} to another tenant.");
                continue;
            }
            var current = tenant.TenantId
                ?? throw new TenantIsolationException($"A {entry.Metadata.ClrType.Name} was written without a tenant in scope.");
            if (entry.State == EntityState.Added && entry.Entity.TenantId == Guid.Empty)
                (entry.Entity.TenantId, original) = (current, current);
            if (entry.Entity.TenantId != current || original != current)
                throw new TenantIsolationException($"A {entry.Metadata.ClrType.Name} of another tenant was written.");
        }
    }
}

/// <summary>A write that crossed tenants, stopped at save time. Its own type: nothing may read it as another failure.</summary>
public sealed class TenantIsolationException(string message) : Exception(message);

public sealed class SqliteZapHubDb(DbContextOptions<SqliteZapHubDb> options) : ZapHubDb(options);

public sealed class PostgresZapHubDb(DbContextOptions<PostgresZapHubDb> options) : ZapHubDb(options);
