using System.Diagnostics;
using System.Globalization;

namespace Builtiful.Cli;

/// <summary>
/// Progress of a long operation, on the error stream so the output stays clean for pipes: one line per step, with
/// the time since the operation began.
/// </summary>
public sealed class Progress(TextWriter error, TimeProvider time)
{
    private readonly long _started = time.GetTimestamp();

    public void Report(string message) =>
        error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{time.GetElapsedTime(_started).TotalSeconds,5:0.0}s] {message}"));

    public static Progress Start(TextWriter error) => new(error, TimeProvider.System);

    /// <summary>For callers that want a stopwatch-free check of how long they have waited.</summary>
    public TimeSpan Elapsed => time.GetElapsedTime(_started);

    internal static string Format(TimeSpan span) => span.ToString("c", CultureInfo.InvariantCulture);
}
