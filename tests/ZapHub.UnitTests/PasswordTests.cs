using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using ZapHub.Features.Accounts;

namespace ZapHub.UnitTests;

public class PasswordTests
{
    [Fact]
    public async Task GeneratedPasswordsPassTheAccountRules()
    {
        var options = Options.Create(new IdentityOptions { Password = { RequiredLength = 10, RequireNonAlphanumeric = false } });
        var validator = new PasswordValidator<User>();
        var manager = new UserManager<User>(new NoStore(), options, new PasswordHasher<User>(), [], [validator], null!, new IdentityErrorDescriber(), null!, null!);
        var passwords = Enumerable.Range(0, 200).Select(_ => Passwords.Generate()).ToList();
        Assert.Equal(200, passwords.Distinct().Count());
        foreach (var p in passwords)
            Assert.True((await validator.ValidateAsync(manager, new User(), p)).Succeeded, p);
    }

    private sealed class NoStore : IUserStore<User>
    {
        public void Dispose() { }
        public Task<IdentityResult> CreateAsync(User user, CancellationToken ct) => throw new NotSupportedException();
        public Task<IdentityResult> DeleteAsync(User user, CancellationToken ct) => throw new NotSupportedException();
        public Task<User?> FindByIdAsync(string userId, CancellationToken ct) => throw new NotSupportedException();
        public Task<User?> FindByNameAsync(string normalizedUserName, CancellationToken ct) => throw new NotSupportedException();
        public Task<string?> GetNormalizedUserNameAsync(User user, CancellationToken ct) => throw new NotSupportedException();
        public Task<string> GetUserIdAsync(User user, CancellationToken ct) => throw new NotSupportedException();
        public Task<string?> GetUserNameAsync(User user, CancellationToken ct) => throw new NotSupportedException();
        public Task SetNormalizedUserNameAsync(User user, string? normalizedName, CancellationToken ct) => throw new NotSupportedException();
        public Task SetUserNameAsync(User user, string? userName, CancellationToken ct) => throw new NotSupportedException();
        public Task<IdentityResult> UpdateAsync(User user, CancellationToken ct) => throw new NotSupportedException();
    }
}
