using System.Collections.Concurrent;
using Microsoft.AspNetCore.DataProtection;

namespace ZapHub.Features.Events;

/// <summary>Endpoint secrets, protected at rest; each protected value is opened once and its key kept in memory.</summary>
public sealed class WebhookSecrets(IDataProtectionProvider protection)
{
    private readonly IDataProtector protector = protection.CreateProtector("ZapHub.Webhooks.Secrets");
    private readonly ConcurrentDictionary<string, byte[]> keys = new();

    public string Protect(string secret) => protector.Protect(secret);

    /// <summary>The keys that sign for this endpoint now: the current one, and the previous one while a rotation overlaps.</summary>
    public IReadOnlyList<byte[]> SigningKeys(WebhookEndpoint endpoint, DateTime now)
    {
        var current = Key(endpoint.ProtectedSecret);
        return endpoint is { ProtectedPreviousSecret: { } previous, PreviousSecretExpiresAt: { } until } && until > now
            ? [current, Key(previous)]
            : [current];
    }

    private byte[] Key(string protectedSecret) =>
        keys.GetOrAdd(protectedSecret, p => WebhookSignature.Key(protector.Unprotect(p)));
}
