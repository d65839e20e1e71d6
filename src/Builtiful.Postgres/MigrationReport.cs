namespace Builtiful.Postgres;

/// <summary>What one migration run did: versions applied now, and versions found already applied.</summary>
public sealed record MigrationReport(IReadOnlyList<string> Applied, IReadOnlyList<string> Skipped);
