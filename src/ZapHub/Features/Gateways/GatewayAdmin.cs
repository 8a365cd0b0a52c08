using System.ComponentModel.DataAnnotations;
using Microsoft.EntityFrameworkCore;
using ZapHub.Data;
using ZapHub.Features.Admin;
using ZapHub.Features.Tenancy;
using ZapHub.Gateways;
using ZapHub.Platform;

namespace ZapHub.Features.Gateways;

public sealed record GatewayView(Guid Id, string Name, GatewayKind Kind, string BaseUrl, Guid? OwnerTenantId, int Capacity, bool Enabled,
    int Sessions, DateTime CreatedAt, DateTime? LastCheckedAt, bool? LastCheckOk, [property: System.Text.Json.Serialization.JsonIgnore] string? StoredCheck,
    bool Draining, DateTime? UnreachableSince, [property: System.Text.Json.Serialization.JsonIgnore] string? StoredUnreachable)
{
    /// <summary>Why the reconciler could not reach it, in English (null while it answers).</summary>
    public string? UnreachableDetail => StoredUnreachable is null ? null : Components.Text.English(StoredUnreachable);

    /// <summary>What the last "test connection" found, in English; its stable code beside it.</summary>
    public string? LastCheckDetail => StoredCheck is null ? null : Components.Text.English(StoredCheck);
    public string? LastCheckCode => Note.Read(StoredCheck)?.Code;

    /// <summary>What stops left on this server that only the operator can clean, oldest first.</summary>
    public IReadOnlyList<LeftoverView> Leftovers { get; init; } = [];
}

/// <summary>A leftover on a gateway server and the operator's action for it.</summary>
public sealed record LeftoverView(long Id, string InstanceName, string Kind, DateTime FoundAt, string Action)
{
    public static string ActionFor(string kind) => kind switch
    {
        Leftovers.LockedBrowser => "A browser still runs for this session name with its profile locked; no API call ends it. Restart the gateway server (or end that Chromium process), then mark this cleaned.",
        Leftovers.MovedAway => "A number moved to another gateway while this one did not answer; its instance may still be here. Delete that instance on this server, then mark this cleaned.",
        Leftovers.StoredSession => "The server keeps this session's token file and relaunches it at its next start (startAllSession). Delete tokens/<name>.data.json on the server (or turn startAllSession off), then mark this cleaned.",
        _ => "Check the gateway server for this session name, then mark this cleaned.",
    };
}

public sealed record GatewayInput(
    [property: Required, StringLength(100, MinimumLength = 2)] string Name,
    GatewayKind Kind,
    [property: Required] string BaseUrl,
    string? Credentials,
    [property: Range(1, 100_000)] int Capacity = 50,
    bool Enabled = true,
    Guid? OwnerTenantId = null,
    bool Draining = false);

/// <summary>The operator's gateway registry. Credentials go in, never come out.</summary>
public sealed class GatewayAdmin(ZapHubDb db, TenantContext scope, GatewayClients clients, GatewayProviders providers, AuditLog audit, TimeProvider time)
{
    public async Task<IReadOnlyList<GatewayView>> ListAsync(CancellationToken ct)
    {
        var sessions = db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]);
        var views = await db.Gateways.AsNoTracking().OrderBy(g => g.Name)
            .Select(g => new GatewayView(g.Id, g.Name, g.Kind, g.BaseUrl, g.OwnerTenantId, g.Capacity, g.Enabled,
                sessions.Count(s => s.GatewayId == g.Id), g.CreatedAt, g.LastCheckedAt, g.LastCheckOk, g.LastCheckDetail, g.Draining, g.UnreachableSince, g.UnreachableNote))
            .ToListAsync(ct);
        var open = (await db.GatewayLeftovers.AsNoTracking().Where(l => l.ResolvedAt == null).OrderBy(l => l.Id).ToListAsync(ct))
            .ToLookup(l => l.GatewayId, l => new LeftoverView(l.Id, l.InstanceName, l.Kind, l.FoundAt, LeftoverView.ActionFor(l.Kind)));
        return views.Select(v => v with { Leftovers = open[v.Id].ToList() }).ToList();
    }

    /// <summary>The operator cleaned the server (restarted it, removed a token file): the leftovers go from the list.</summary>
    public async Task<GatewayView> ResolveLeftoversAsync(Actor actor, Guid id, long? leftoverId, CancellationToken ct)
    {
        var gateway = await db.Gateways.AsNoTracking().FirstOrDefaultAsync(g => g.Id == id, ct) ?? throw ProblemException.NotFound("Gateway");
        var open = await db.GatewayLeftovers.Where(l => l.GatewayId == id && l.ResolvedAt == null && (leftoverId == null || l.Id == leftoverId)).ToListAsync(ct);
        if (leftoverId is not null && open.Count == 0) throw ProblemException.NotFound("Leftover");
        foreach (var left in open) (left.ResolvedAt, left.ResolvedBy) = (time.UtcNow(), actor.Name);
        audit.Add(db, actor, gateway.OwnerTenantId, "gateway.leftovers_cleaned", "gateway", id.ToString(),
            string.Join(", ", open.Select(l => $"{l.Kind} {l.InstanceName}")));
        await db.SaveChangesAsync(ct);
        return await GetAsync(id, ct);
    }

    public async Task<GatewayView> CreateAsync(Actor actor, GatewayInput input, CancellationToken ct)
    {
        Validate(input, requireCredentials: true);
        if (input.OwnerTenantId is { } owner && !await db.Tenants.AnyAsync(t => t.Id == owner, ct))
            throw ProblemException.Invalid("ownerTenantId", "tenant_unknown", "No tenant has that id.");
        scope.UsePlatformScope();
        var gateway = new Gateway
        {
            Name = input.Name.Trim(),
            Kind = input.Kind,
            BaseUrl = input.BaseUrl.Trim().TrimEnd('/'),
            ProtectedCredentials = clients.ProtectCredentials(input.Credentials!),
            OwnerTenantId = input.OwnerTenantId,
            Capacity = input.Capacity,
            Enabled = input.Enabled,
            Draining = input.Draining,
            CreatedAt = time.UtcNow(),
        };
        db.Gateways.Add(gateway);
        audit.Add(db, actor, gateway.OwnerTenantId, "gateway.registered", "gateway", gateway.Id.ToString(), $"{gateway.Name} ({gateway.Kind}) {gateway.BaseUrl}");
        await db.SaveChangesAsync(ct);
        return await GetAsync(gateway.Id, ct);
    }

    public async Task<GatewayView> UpdateAsync(Actor actor, Guid id, GatewayInput input, CancellationToken ct)
    {
        Validate(input, requireCredentials: false);
        var gateway = await db.Gateways.FirstOrDefaultAsync(g => g.Id == id, ct) ?? throw ProblemException.NotFound("Gateway");
        if (gateway.Kind != input.Kind)
            throw ProblemException.Invalid("kind", "gateway_kind_fixed", "A gateway's kind cannot change; register a new gateway instead.");
        gateway.Name = input.Name.Trim();
        gateway.BaseUrl = input.BaseUrl.Trim().TrimEnd('/');
        gateway.Capacity = input.Capacity;
        gateway.Enabled = input.Enabled;
        if (gateway.Draining != input.Draining)
            audit.Add(db, actor, gateway.OwnerTenantId, input.Draining ? "gateway.draining" : "gateway.undrained", "gateway", gateway.Id.ToString(), gateway.Name);
        gateway.Draining = input.Draining;
        if (!string.IsNullOrEmpty(input.Credentials)) gateway.ProtectedCredentials = clients.ProtectCredentials(input.Credentials);
        audit.Add(db, actor, gateway.OwnerTenantId, "gateway.updated", "gateway", gateway.Id.ToString(),
            Note.Of(string.IsNullOrEmpty(input.Credentials) ? "audit_gateway_updated" : "audit_gateway_updated_credentials", ("name", gateway.Name), ("url", gateway.BaseUrl),
                ("capacity", gateway.Capacity), ("state", Note.Key(gateway.Enabled ? "common.enabled" : "common.disabled"))).Store());
        await db.SaveChangesAsync(ct);
        return await GetAsync(id, ct);
    }

    public async Task<GatewayView> TestAsync(Actor actor, Guid id, CancellationToken ct)
    {
        var gateway = await db.Gateways.FirstOrDefaultAsync(g => g.Id == id, ct) ?? throw ProblemException.NotFound("Gateway");
        GatewayCheck check;
        try { check = await clients.For(gateway).CheckAsync(ct); }
        catch (GatewayException ex) { check = new GatewayCheck(false, Note.Of("check_failed", ("detail", ex.Message))); }
        gateway.LastCheckedAt = time.UtcNow();
        gateway.LastCheckOk = check.Ok;
        gateway.LastCheckDetail = check.Detail.Store();
        audit.Add(db, actor, gateway.OwnerTenantId, "gateway.tested", "gateway", gateway.Id.ToString(), gateway.LastCheckDetail);
        await db.SaveChangesAsync(ct);
        return await GetAsync(id, ct);
    }

    public async Task DeleteAsync(Actor actor, Guid id, CancellationToken ct)
    {
        var gateway = await db.Gateways.FirstOrDefaultAsync(g => g.Id == id, ct) ?? throw ProblemException.NotFound("Gateway");
        if (await db.Sessions.IgnoreQueryFilters([ZapHubDb.TenantFilter]).AnyAsync(s => s.GatewayId == id, ct))
            throw ProblemException.Conflict("gateway_in_use", "Sessions still live on this gateway: delete or move them first.");
        db.Gateways.Remove(gateway);
        audit.Add(db, actor, gateway.OwnerTenantId, "gateway.removed", "gateway", gateway.Id.ToString(), gateway.Name);
        await db.SaveChangesAsync(ct);
    }

    private async Task<GatewayView> GetAsync(Guid id, CancellationToken ct) =>
        (await ListAsync(ct)).FirstOrDefault(g => g.Id == id) ?? throw ProblemException.NotFound("Gateway");

    private void Validate(GatewayInput input, bool requireCredentials)
    {
        var url = input.BaseUrl?.Trim() ?? "";
        var isEmulator = url is "emulator://evolution" or "emulator://wppconnect";
        if (!isEmulator && !(Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
            throw ProblemException.Invalid("baseUrl", "gateway_url", "The base URL must be an absolute http(s) URL, e.g. http://10.0.0.5:8080.");
        if (requireCredentials && string.IsNullOrWhiteSpace(input.Credentials))
            throw ProblemException.Invalid("credentials", "gateway_credentials", "Give the gateway's API key (Evolution) or secret key (WPPConnect).");
        var provider = providers.All.FirstOrDefault(p => p.Kind == input.Kind)
            ?? throw ProblemException.Invalid("kind", "gateway_kind", $"kind must be one of {string.Join(", ", providers.All.Select(p => p.Kind))}.");
        if (input.Credentials is { Length: > 0 } secret && provider.CredentialProblem(secret, SessionNames.Length) is { } problem)
            throw ProblemException.Invalid("credentials", "gateway_credentials_unusable", problem);
    }
}

public static class SessionNames
{
    public const int Length = 12;

    /// <summary>"zh" + 10 lowercase letters/digits: short, URL-safe, and far below bcrypt's limit.</summary>
    public static string New() => "zh" + System.Security.Cryptography.RandomNumberGenerator.GetString("abcdefghijkmnopqrstuvwxyz23456789", Length - 2);
}

public static class GatewayEndpoints
{
    public static RouteGroupBuilder MapGateways(this RouteGroupBuilder admin)
    {
        var g = admin.MapGroup("/gateways").WithTags("Operator: gateways");
        g.MapGet("/", (GatewayAdmin svc, CancellationToken ct) => svc.ListAsync(ct)).WithName("AdminListGateways");
        g.MapPost("/", async (GatewayInput body, GatewayAdmin svc, HttpContext http, CancellationToken ct) =>
        {
            var created = await svc.CreateAsync(Actor.From(http.User, TenancyEndpoints.Ip(http)), body, ct);
            return TypedResults.Created($"/api/v1/admin/gateways/{created.Id}", created);
        }).WithName("AdminRegisterGateway").WithSummary("Registers a gateway server; its credentials are stored encrypted and never returned.");
        g.MapPut("/{gatewayId:guid}", (Guid gatewayId, GatewayInput body, GatewayAdmin svc, HttpContext http, CancellationToken ct) =>
            svc.UpdateAsync(Actor.From(http.User, TenancyEndpoints.Ip(http)), gatewayId, body, ct)).WithName("AdminUpdateGateway");
        g.MapPost("/{gatewayId:guid}/test", (Guid gatewayId, GatewayAdmin svc, HttpContext http, CancellationToken ct) =>
            svc.TestAsync(Actor.From(http.User, TenancyEndpoints.Ip(http)), gatewayId, ct)).WithName("AdminTestGateway").WithSummary("Calls the gateway with its credentials and records the result.");
        g.MapPost("/{gatewayId:guid}/leftovers/resolve", (Guid gatewayId, GatewayAdmin svc, HttpContext http, CancellationToken ct) =>
            svc.ResolveLeftoversAsync(Actor.From(http.User, TenancyEndpoints.Ip(http)), gatewayId, null, ct))
            .WithName("AdminResolveGatewayLeftovers").WithSummary("Marks every leftover on the gateway cleaned, after the operator acted on the server.");
        g.MapPost("/{gatewayId:guid}/leftovers/{leftoverId:long}/resolve", (Guid gatewayId, long leftoverId, GatewayAdmin svc, HttpContext http, CancellationToken ct) =>
            svc.ResolveLeftoversAsync(Actor.From(http.User, TenancyEndpoints.Ip(http)), gatewayId, leftoverId, ct))
            .WithName("AdminResolveGatewayLeftover");
        g.MapDelete("/{gatewayId:guid}", async (Guid gatewayId, GatewayAdmin svc, HttpContext http, CancellationToken ct) =>
        {
            await svc.DeleteAsync(Actor.From(http.User, TenancyEndpoints.Ip(http)), gatewayId, ct);
            return TypedResults.NoContent();
        }).WithName("AdminRemoveGateway");
        return g;
    }
}
