using System.Collections;

namespace ZapHub.Platform;

/// <summary>
/// The app's logger factory, with every logger masking what must never reach a log: a gateway webhook's path holds its
/// session's secret, and ASP.NET Core logs request paths (hosting, routing at Debug) and carries them in each request's
/// log scope. Masked whatever the log configuration says, in the message, in its structured values and in scopes.
/// </summary>
public sealed class SecretSafeLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new MaskingLogger(inner.CreateLogger(categoryName));

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose() => inner.Dispose();

    public static void Register(IServiceCollection services) =>
        services.AddSingleton<ILoggerFactory>(sp => new SecretSafeLoggerFactory(ActivatorUtilities.CreateInstance<LoggerFactory>(sp)));

    private sealed class MaskingLogger(ILogger inner) : ILogger
    {
        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        /// <summary>Scopes are opened for every request and read only when a line is written: masked when read, not when opened.</summary>
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull =>
            state is IEnumerable<KeyValuePair<string, object?>> values ? inner.BeginScope(new MaskedScope(values))
            : state is string text && LogSafe.HasSecret(text) ? inner.BeginScope(LogSafe.Mask(text))
            : inner.BeginScope(state);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!inner.IsEnabled(logLevel)) return;
            var message = formatter(state, exception);
            var values = state as IEnumerable<KeyValuePair<string, object?>>;
            if (!Carries(values, message)) inner.Log(logLevel, eventId, state, exception, formatter);
            else inner.Log(logLevel, eventId, new Masked(values is null ? [] : Mask(values), LogSafe.Mask(message)), exception, static (m, _) => m.Message);
        }

        private static bool Carries(IEnumerable<KeyValuePair<string, object?>>? values, string? message) =>
            (message is not null && LogSafe.HasSecret(message)) || (values?.Any(v => v.Value?.ToString() is { } s && LogSafe.HasSecret(s)) ?? false);

        public static List<KeyValuePair<string, object?>> Mask(IEnumerable<KeyValuePair<string, object?>> values) =>
            values.Select(v => v.Value?.ToString() is { } s && LogSafe.HasSecret(s) ? new KeyValuePair<string, object?>(v.Key, LogSafe.Mask(s)) : v).ToList();
    }

    private sealed class MaskedScope(IEnumerable<KeyValuePair<string, object?>> values) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        private List<KeyValuePair<string, object?>>? masked;
        private List<KeyValuePair<string, object?>> Values => masked ??= MaskingLogger.Mask(values);
        public KeyValuePair<string, object?> this[int index] => Values[index];
        public int Count => Values.Count;
        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => Values.GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
        public override string ToString() => LogSafe.Mask(values.ToString() ?? "");
    }

    /// <summary>A log state with its secrets masked; providers read it as structured values like any other.</summary>
    private sealed class Masked(List<KeyValuePair<string, object?>> values, string message) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public string Message => message;
        public KeyValuePair<string, object?> this[int index] => values[index];
        public int Count => values.Count;
        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => values.GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
        public override string ToString() => message;
    }
}
