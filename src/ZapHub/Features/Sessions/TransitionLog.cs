using System.Runtime.CompilerServices;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace ZapHub.Features.Sessions;

/// <summary>
/// Every change of a number's state is logged once, at Information, after the save that recorded it succeeded —
/// whichever path made it (a gateway event, the reconciler, an owner's action, the breaker) — with the tenant and the
/// number in the log scope.
/// </summary>
public sealed class TransitionLog(ILogger<TransitionLog> logger) : SaveChangesInterceptor
{
    private readonly ConditionalWeakTable<DbContext, List<SessionEvent>> pending = [];

    public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        Collect(eventData.Context);
        return ValueTask.FromResult(result);
    }

    public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        Collect(eventData.Context);
        return result;
    }

    public override ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        Log(eventData.Context);
        return ValueTask.FromResult(result);
    }

    public override int SavedChanges(SaveChangesCompletedEventData eventData, int result)
    {
        Log(eventData.Context);
        return result;
    }

    public override void SaveChangesFailed(DbContextErrorEventData eventData) => Forget(eventData.Context);

    public override Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        Forget(eventData.Context);
        return Task.CompletedTask;
    }

    private void Collect(DbContext? context)
    {
        if (context is null || !logger.IsEnabled(LogLevel.Information)) return;
        // A new row is Added from the moment it is added: no need for a second change detection on every save (EF runs its own).
        var tracker = context.ChangeTracker;
        var detect = tracker.AutoDetectChangesEnabled;
        tracker.AutoDetectChangesEnabled = false;
        try
        {
            var added = tracker.Entries<SessionEvent>().Where(e => e.State == EntityState.Added && e.Entity.FromState != e.Entity.ToState).Select(e => e.Entity).ToList();
            if (added.Count > 0) pending.AddOrUpdate(context, added);
        }
        finally { tracker.AutoDetectChangesEnabled = detect; }
    }

    private void Log(DbContext? context)
    {
        if (context is null || !pending.TryGetValue(context, out var changes)) return;
        pending.Remove(context);
        foreach (var e in changes)
        {
            using var scope = logger.BeginScope(new Dictionary<string, object> { ["TenantId"] = e.TenantId, ["SessionId"] = e.SessionId });
            logger.LogInformation("Number {SessionId} went from {FromState} to {ToState} ({Cause}){Reason}",
                e.SessionId, e.FromState, e.ToState, e.Cause, e.Reason is { } reason ? ": " + reason : "");
        }
    }

    private void Forget(DbContext? context)
    {
        if (context is not null) pending.Remove(context);
    }
}
