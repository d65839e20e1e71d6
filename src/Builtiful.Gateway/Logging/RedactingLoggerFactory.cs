using System.Collections;
using Microsoft.Extensions.Logging;

namespace Builtiful.Gateway.Logging;

/// <summary>
/// Wraps the host's logger factory so every logger, whichever provider it writes to and whenever that provider was
/// added, passes its message and structured values through <see cref="LogRedactor"/>. Wrapping the factory rather
/// than each provider keeps per-provider filter rules (<c>Logging:Console:LogLevel</c>) working.
/// </summary>
public sealed class RedactingLoggerFactory(ILoggerFactory inner) : ILoggerFactory
{
    private long _redactions;

    /// <summary>How many log events had something redacted; zero in a healthy run, since nothing should log a token at all.</summary>
    public long Redactions => Interlocked.Read(ref _redactions);

    public ILogger CreateLogger(string categoryName) => new RedactingLogger(inner.CreateLogger(categoryName), this);

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose() => inner.Dispose();

    private void Counted() => Interlocked.Increment(ref _redactions);

    private sealed class RedactingLogger(ILogger inner, RedactingLoggerFactory factory) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            if (!inner.IsEnabled(logLevel))
            {
                return;
            }

            var message = formatter(state, exception);
            var values = state as IReadOnlyList<KeyValuePair<string, object?>>;
            if (!LogRedactor.NeedsRedaction(message) && (values is null || !values.Any(v => v.Value is string s && LogRedactor.NeedsRedaction(s))))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
                return;
            }

            factory.Counted();
            var redacted = new RedactedState(LogRedactor.Redact(message), values is null
                ? []
                : [.. values.Select(v => v.Value is string s ? new KeyValuePair<string, object?>(v.Key, LogRedactor.Redact(s)) : v)]);
            inner.Log(logLevel, eventId, redacted, exception, static (s, _) => s.Message);
        }
    }

    /// <summary>Structured values and message of an event after redaction, in the shape structured providers read.</summary>
    private sealed class RedactedState(string message, IReadOnlyList<KeyValuePair<string, object?>> values) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        public string Message { get; } = message;

        public int Count => values.Count;

        public KeyValuePair<string, object?> this[int index] => values[index];

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator() => values.GetEnumerator();

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => Message;
    }
}
