using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Builtiful.Testing;

/// <summary>Every log line of a host, as its providers would see it: category, level, formatted message, structured values and exception.</summary>
public sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<CapturedLine> _lines = new();

    public IReadOnlyList<CapturedLine> Lines => [.. _lines];

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, ConcurrentQueue<CapturedLine> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IReadOnlyList<KeyValuePair<string, object?>> list
                ? list.Select(kv => $"{kv.Key}={kv.Value}").ToList()
                : [];
            lines.Enqueue(new CapturedLine(category, logLevel, formatter(state, exception), values, exception?.ToString()));
        }
    }
}

public sealed record CapturedLine(string Category, LogLevel Level, string Message, IReadOnlyList<string> Values, string? Exception)
{
    /// <summary>Everything a sink could write for this line.</summary>
    public string AllText => string.Join('\n', [Category, Message, .. Values, Exception ?? ""]);
}
