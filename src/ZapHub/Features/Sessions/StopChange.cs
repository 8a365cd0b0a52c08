namespace ZapHub.Features.Sessions;

/// <summary>
/// What a stop on the gateway changes on the session row: provisioned again by the next connect, and under a new name
/// when the old one is held by something only the operator can end. Applied inside the caller's save, so a save retried
/// after a concurrent change keeps it.
/// </summary>
public sealed record StopChange(bool Unprovision, string? NewInstanceName)
{
    public static readonly StopChange None = new(false, null);

    public void ApplyTo(Session session)
    {
        if (NewInstanceName is { } name) session.InstanceName = name;
        if (Unprovision) (session.ProvisionedAt, session.ProtectedProviderToken) = (null, null);
    }
}
