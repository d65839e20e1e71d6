namespace Builtiful.Gateway.Audit;

/// <summary>
/// One operator action: who (the operator's name, never the credential), what (method, route and the ids it targeted),
/// when, and how it ended.
/// </summary>
public sealed record AuditEvent(
    DateTimeOffset At,
    string Actor,
    string? Role,
    string Method,
    string Route,
    IReadOnlyDictionary<string, string> Targets,
    int Status,
    string Outcome,
    string? TraceId);

/// <summary>How an audited action ended, from its HTTP status.</summary>
public static class AuditOutcomes
{
    public const string Succeeded = "succeeded";
    public const string Unauthenticated = "unauthenticated";
    public const string Forbidden = "forbidden";
    public const string Refused = "refused";
    public const string Failed = "failed";

    public static string FromStatus(int status) => status switch
    {
        < 400 => Succeeded,
        401 => Unauthenticated,
        403 => Forbidden,
        < 500 => Refused,
        _ => Failed,
    };
}

/// <summary>Where operator actions are recorded. Endpoints that carry the operator policy are audited automatically.</summary>
public interface IAuditLog
{
    void Record(AuditEvent auditEvent);

    /// <summary>The most recent events, oldest first; a bounded in-memory window for tests and diagnostics.</summary>
    IReadOnlyList<AuditEvent> Recent { get; }
}
