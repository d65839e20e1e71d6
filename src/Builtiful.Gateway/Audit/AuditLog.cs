using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Builtiful.Gateway.Audit;

/// <summary>
/// Writes each audit event as a structured log event in the dedicated category <see cref="Category"/>, so operators
/// can route it to an append-only sink, and keeps the last <see cref="Capacity"/> events in memory.
/// </summary>
public sealed partial class AuditLog(ILoggerFactory loggers) : IAuditLog
{
    public const string Category = "Builtiful.Audit";
    public const int Capacity = 1024;

    private readonly ILogger _logger = loggers.CreateLogger(Category);
    private readonly ConcurrentQueue<AuditEvent> _recent = new();

    public IReadOnlyList<AuditEvent> Recent => [.. _recent];

    public void Record(AuditEvent auditEvent)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        _recent.Enqueue(auditEvent);
        while (_recent.Count > Capacity && _recent.TryDequeue(out _))
        {
        }

        var targets = string.Join(", ", auditEvent.Targets.Select(t => $"{t.Key}={t.Value}"));
        LogAction(_logger, auditEvent.Actor, auditEvent.Role ?? "none", auditEvent.Method, auditEvent.Route, targets,
            auditEvent.Status, auditEvent.Outcome, auditEvent.At, auditEvent.TraceId ?? "");
    }

    [LoggerMessage(EventId = 8000, Level = LogLevel.Information,
        Message = "Operator {Actor} ({Role}) {Method} {Route} [{Targets}]: {Status} {Outcome} at {At:O} (trace {TraceId})")]
    private static partial void LogAction(ILogger logger, string actor, string role, string method, string route, string targets,
        int status, string outcome, DateTimeOffset at, string traceId);
}
