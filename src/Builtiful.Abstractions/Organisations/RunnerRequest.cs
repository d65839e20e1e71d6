using Builtiful.Machines;

namespace Builtiful.Organisations;

/// <summary>A queued job asking its organisation for a VM.</summary>
[GenerateSerializer, Immutable, Alias("builtiful.runner-request")]
public sealed record RunnerRequest
{
    [Id(0)] public required long JobId { get; init; }
    [Id(1)] public required MachineType MachineType { get; init; }
    [Id(2)] public required IReadOnlyList<string> Labels { get; init; }
    /// <summary>When Builtiful saw the job queued (or approved), by its own clock: the line's order and its 24 hours count from here.</summary>
    [Id(3)] public required DateTimeOffset QueuedAt { get; init; }
    [Id(4)] public string? Repository { get; init; }
    [Id(5)] public Jobs.RepositoryVisibility Visibility { get; init; }
}

public enum AdmissionKind
{
    /// <summary>A lease was started for the job.</summary>
    Started = 0,
    /// <summary>The organisation is at its VM limit; the job waits in line.</summary>
    Waiting = 1,
    /// <summary>The job gets no VM; <see cref="Admission.Reason"/> says why.</summary>
    Refused = 2,
    /// <summary>The job was already admitted; nothing changed.</summary>
    Duplicate = 3,
    /// <summary>The installation is not known yet: the job is kept without a VM until <c>installation.created</c>.</summary>
    Parked = 4,
}

[GenerateSerializer, Immutable, Alias("builtiful.admission")]
public sealed record Admission(
    [property: Id(0)] AdmissionKind Kind,
    [property: Id(1)] Guid? LeaseId = null,
    [property: Id(2)] int? Position = null,
    [property: Id(3)] string? Reason = null,
    [property: Id(4)] Jobs.RejectionCode Code = Jobs.RejectionCode.Other);
