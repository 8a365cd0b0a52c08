namespace ZapHub.Data;

/// <summary>
/// SQLite has one writer at a time, and a writer that finds the lock taken sleeps in SQLite's busy wait, which backs
/// off to naps of 25-100 ms: under steady contention the lock sat free while every waiting writer slept, and a group
/// of background writers committed a few times a second with the CPU idle. ZapHub's busy writers queue here first
/// instead, so the next starts the moment the previous one commits. A SQLite database has a single node, so every
/// writer is in this process. PostgreSQL locks rows and needs none of this.
/// </summary>
public sealed class WriteGate
{
    private readonly SemaphoreSlim gate = new(1, 1);

    /// <summary>Hold the result (<c>using</c>) around the whole write transaction.</summary>
    public async ValueTask<Turn> EnterAsync(ZapHubDb db, CancellationToken ct)
    {
        if (db is PostgresZapHubDb) return default;
        await gate.WaitAsync(ct);
        return new Turn(gate);
    }

    public readonly struct Turn(SemaphoreSlim? gate) : IDisposable
    {
        public void Dispose() => gate?.Release();
    }
}
