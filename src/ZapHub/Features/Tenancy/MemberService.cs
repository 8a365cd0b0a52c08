using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using ZapHub.Data;
using ZapHub.Features.Accounts;
using ZapHub.Platform;

namespace ZapHub.Features.Tenancy;

public sealed record MemberView(Guid Id, Guid UserId, string Email, string? DisplayName, TenantRole Role, DateTime CreatedAt);

/// <summary>When the member is a new account, its one-time password appears here, once.</summary>
public sealed record AddedMember(MemberView Member, string? OneTimePassword);

public sealed class MemberService(ZapHubDb db, TenantContext tenant, UserManager<User> users, AuditLog audit, TimeProvider time)
{
    public async Task<IReadOnlyList<MemberView>> ListAsync(CancellationToken ct) =>
        await db.Memberships.AsNoTracking().OrderBy(m => m.CreatedAt)
            .Select(m => new MemberView(m.Id, m.UserId, m.User!.Email!, m.User.DisplayName, m.Role, m.CreatedAt))
            .ToListAsync(ct);

    public async Task<AddedMember> AddAsync(Actor actor, string email, TenantRole role, CancellationToken ct)
    {
        var tenantId = tenant.RequireTenant();
        var (user, password) = await UserAccounts.FindOrCreateUserAsync(users, email, time, ct);
        if (await db.Memberships.AnyAsync(m => m.UserId == user.Id, ct))
            throw ProblemException.Conflict("member_exists", $"{user.Email} is already a member of this tenant.");
        var membership = new Membership { TenantId = tenantId, UserId = user.Id, Role = role, CreatedAt = time.UtcNow() };
        db.Memberships.Add(membership);
        audit.Add(db, actor, tenantId, "member.added", "user", user.Id.ToString(), Note.Of("audit_member_added", ("email", user.Email), ("role", Note.Key("role." + role))).Store());
        await db.SaveChangesAsync(ct);
        return new AddedMember(new MemberView(membership.Id, user.Id, user.Email!, user.DisplayName, role, membership.CreatedAt), password);
    }

    public async Task ChangeRoleAsync(Actor actor, Guid membershipId, TenantRole role, CancellationToken ct)
    {
        var membership = await db.Memberships.Include(m => m.User).FirstOrDefaultAsync(m => m.Id == membershipId, ct)
            ?? throw ProblemException.NotFound("Member");
        if (membership.Role == role) return;
        if (membership.Role == TenantRole.Owner) await EnsureAnotherOwnerAsync(membership.Id, ct);
        audit.Add(db, actor, membership.TenantId, "member.role_changed", "user", membership.UserId.ToString(),
            Note.Of("audit_member_role", ("email", membership.User!.Email), ("from", Note.Key("role." + membership.Role)), ("to", Note.Key("role." + role))).Store());
        membership.Role = role;
        await db.SaveChangesAsync(ct);
    }

    public async Task RemoveAsync(Actor actor, Guid membershipId, CancellationToken ct)
    {
        var membership = await db.Memberships.Include(m => m.User).FirstOrDefaultAsync(m => m.Id == membershipId, ct)
            ?? throw ProblemException.NotFound("Member");
        if (membership.Role == TenantRole.Owner) await EnsureAnotherOwnerAsync(membership.Id, ct);
        db.Memberships.Remove(membership);
        audit.Add(db, actor, membership.TenantId, "member.removed", "user", membership.UserId.ToString(), membership.User!.Email);
        await db.SaveChangesAsync(ct);
    }

    private async Task EnsureAnotherOwnerAsync(Guid exceptMembershipId, CancellationToken ct)
    {
        if (!await db.Memberships.AnyAsync(m => m.Role == TenantRole.Owner && m.Id != exceptMembershipId, ct))
            throw ProblemException.Conflict("last_owner", "A tenant needs at least one owner: make someone else owner first.");
    }
}
