using Microsoft.AspNetCore.Identity;
using ZapHub.Platform;

namespace ZapHub.Features.Accounts;

public static class UserAccounts
{
    /// <summary>Finds the account for an email, or creates it with a generated one-time password (returned once).</summary>
    public static async Task<(User User, string? OneTimePassword)> FindOrCreateUserAsync(
        UserManager<User> users, string email, TimeProvider time, CancellationToken ct, bool isOperator = false)
    {
        email = email.Trim();
        if (!System.Net.Mail.MailAddress.TryCreate(email, out var parsed) || parsed.Address != email)
            throw ProblemException.Invalid("email", "email_invalid", $"'{email}' is not a valid e-mail address.");
        ct.ThrowIfCancellationRequested();
        if (await users.FindByEmailAsync(email) is { } existing) return (existing, null);

        var password = Passwords.Generate();
        var user = new User
        {
            UserName = email,
            Email = email,
            EmailConfirmed = true,
            IsOperator = isOperator,
            MustChangePassword = true,
            CreatedAt = time.UtcNow(),
        };
        var result = await users.CreateAsync(user, password);
        if (!result.Succeeded)
            throw ProblemException.Invalid("email", "user_create_failed", string.Join(" ", result.Errors.Select(e => e.Description)));
        return (user, password);
    }
}
