using System.Security.Claims;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.EntityFrameworkCore;
using ZapHub.Data;
using ZapHub.Features.Accounts;
using ZapHub.Features.Tenancy;
using ZapHub.Platform;

namespace ZapHub.Components;

/// <summary>
/// Base for dashboard pages. A circuit lives for minutes or hours, so each piece of work gets its own DI scope
/// (and so its own DbContext) with the tenant fixed for it, exactly as a request would.
/// </summary>
public abstract class TenantPage : ComponentBase
{
    [Inject] private IServiceScopeFactory ScopeFactory { get; set; } = default!;
    [Inject] private AuthenticationStateProvider AuthState { get; set; } = default!;
    [Inject] private ILoggerFactory LoggerFactory { get; set; } = default!;
    [Inject] protected Text L { get; set; } = default!;

    protected ClaimsPrincipal User { get; private set; } = new();
    protected Actor Actor { get; private set; } = Actor.System;
    protected TenantContext Tenant { get; } = new();
    protected bool Loading { get; private set; } = true;
    protected string? Error { get; set; }

    protected bool IsOperator => User.HasClaim(ZapHubClaims.Operator, "true");
    protected bool HasRole(TenantRole role) => Tenant.Role >= role;

    protected override async Task OnInitializedAsync()
    {
        User = (await AuthState.GetAuthenticationStateAsync()).User;
        Actor = Actor.From(User);
        if (AccountEndpoints.CurrentTenant(User) is { } tenantId)
        {
            await using var scope = ScopeFactory.CreateAsyncScope();
            await TenantAccess.ResolveAsync(scope.ServiceProvider.GetRequiredService<ZapHubDb>(), Tenant, User, tenantId, CancellationToken.None);
        }
        await RunAsync(LoadAsync);
        Loading = false;
    }

    protected virtual Task LoadAsync(IServiceProvider services) => Task.CompletedTask;

    /// <summary>Runs an action, then reloads the page's data; the action's error stays shown whatever the reload does.</summary>
    protected async Task<bool> ActAsync(Func<IServiceProvider, Task> work)
    {
        var ok = await RunAsync(work);
        await ReloadKeepingErrorAsync();
        return ok;
    }

    /// <summary>Reads the page (or the part <paramref name="load"/> reads) again; an error already shown stays shown.</summary>
    protected async Task ReloadKeepingErrorAsync(Func<IServiceProvider, Task>? load = null)
    {
        var error = Error;
        await RunAsync(load ?? LoadAsync);
        Error ??= error;
    }

    /// <summary>Reads the page (or the part <paramref name="load"/> reads) again after a change made elsewhere, and shows it.</summary>
    protected Task ReloadLiveAsync(Func<IServiceProvider, Task>? load = null) => InvokeAsync(async () =>
    {
        await ReloadKeepingErrorAsync(load);
        StateHasChanged();
    });

    /// <summary>The tenant's time zone: the wall-clock times people type are read in it.</summary>
    protected async Task<TimeZoneInfo> ZoneAsync()
    {
        await using var scope = ScopeFactory.CreateAsyncScope();
        var id = Tenant.TenantId;
        var zone = id is null ? null : await scope.ServiceProvider.GetRequiredService<ZapHubDb>().Tenants.Where(t => t.Id == id).Select(t => t.TimeZone).FirstOrDefaultAsync();
        return TimeZoneInfo.FindSystemTimeZoneById(zone ?? Features.Tenancy.Tenant.DefaultTimeZone);
    }

    /// <summary>Runs work in a fresh scope for this page's tenant; failures the user can act on become <see cref="Error"/>.</summary>
    protected async Task<bool> RunAsync(Func<IServiceProvider, Task> work)
    {
        Error = null;
        try
        {
            await using var scope = ScopeFactory.CreateAsyncScope();
            if (Tenant.TenantId is { } id) scope.ServiceProvider.GetRequiredService<TenantContext>().Set(id, Tenant.Role);
            await work(scope.ServiceProvider);
            return true;
        }
        catch (ProblemException problem)
        {
            Error = L.Error(problem);
        }
        catch (Exception ex)
        {
            LoggerFactory.CreateLogger(GetType()).LogError(ex, "Dashboard action failed on {Page}", GetType().Name);
            Error = L["error.unexpected"];
        }
        return false;
    }
}
