using System.Collections.Concurrent;

namespace ZapHub.GatewayEmulator;

public sealed record SentMessage(string Provider, string Instance, string MessageId, string To, string? Text, string? MediaType, DateTimeOffset At);

/// <summary>Fault injection shared by both providers: latency, failing calls, an unreachable phone.</summary>
public sealed class Faults
{
    private int failNext, resetNext;
    public TimeSpan Latency { get; set; }

    /// <summary>The call does its work at once but answers late, so its webhooks overtake its answer.</summary>
    public TimeSpan AnswerDelay { get; set; }
    public int FailNext { get => Volatile.Read(ref failNext); set => Volatile.Write(ref failNext, value); }

    /// <summary>The next calls' connections are reset before the server does anything (a proxy or the network dropping them).</summary>
    public int ResetNext { get => Volatile.Read(ref resetNext); set => Volatile.Write(ref resetNext, value); }

    /// <summary>When the phone is offline, sent messages stay at "sent to server" and are never delivered.</summary>
    public bool PhoneOffline { get; set; }

    /// <summary>
    /// Starts that never finish: WPPConnect stays INITIALIZING forever (contract §2.7), Evolution's connect answers
    /// {"count":0} without ever producing a QR (as when WhatsApp is unreachable).
    /// </summary>
    public bool StallStarts { get; set; }

    /// <summary>Evolution drops a connected socket with a reconnectable code and reconnects on its own.</summary>
    public bool ReconnectAfterDrop { get; set; } = true;

    public bool TryConsumeFailure() => TryConsume(ref failNext);

    public bool TryConsumeReset() => TryConsume(ref resetNext);

    private static bool TryConsume(ref int counter)
    {
        while (true)
        {
            var current = Volatile.Read(ref counter);
            if (current <= 0) return false;
            if (Interlocked.CompareExchange(ref counter, current - 1, current) == current) return true;
        }
    }
}

/// <summary>
/// Faults of one instance or session, switched on by name (before or after the gateway knows it), each one a behaviour
/// the real servers showed when ZapHub drove them (contracts: Evolution §2, WPPConnect §7).
/// </summary>
public static class InstanceFault
{
    /// <summary>WhatsApp cannot be reached: Evolution re-creates its socket without backoff and posts `connecting` ~19 times a
    /// second while its state reads `close`; WPPConnect stays INITIALIZING with no QR and no webhook.</summary>
    public const string Unreachable = "unreachable";

    /// <summary>Evolution: the instance exists but has no socket (never connected since the server started): state `close`,
    /// sends answer 500 "Cannot read properties of undefined (reading 'onWhatsApp')". No webhook says so.</summary>
    public const string Socketless = "socketless";

    public static readonly string[] All = [Unreachable, Socketless];
}

/// <summary>Per-name fault modes, shared by both providers.</summary>
public sealed class InstanceFaults
{
    private readonly ConcurrentDictionary<(string Provider, string Name), string> modes = new();

    public void Set(string provider, string name, string? mode)
    {
        if (mode is null) modes.TryRemove((provider, name), out _);
        else modes[(provider, name)] = mode;
    }

    public bool Has(string provider, string name, string mode) => modes.TryGetValue((provider, name), out var m) && m == mode;

    public void Clear() => modes.Clear();
}

/// <summary>What the emulated gateways received: the tests' and benchmarks' view of the "phone".</summary>
public sealed class SentLog
{
    private readonly ConcurrentQueue<SentMessage> messages = new();
    private long count;

    public void Add(SentMessage message)
    {
        messages.Enqueue(message);
        Interlocked.Increment(ref count);
    }

    public long Count => Interlocked.Read(ref count);
    public IReadOnlyList<SentMessage> All => messages.ToArray();
    public void Clear()
    {
        messages.Clear();
        Interlocked.Exchange(ref count, 0);
    }
}
