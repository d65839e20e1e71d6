using Builtiful.Organisations;
using CsCheck;
using static Builtiful.Decisions.Tests.AdmissionWorld;

namespace Builtiful.Decisions.Tests;

/// <summary>
/// Random sequences of what GitHub, the leases, the clock and operators can report, judged by a record kept outside the
/// machine: the leases it ordered and which of them reported their VM gone.
/// </summary>
public sealed class AdmissionPropertyTests
{
    private static readonly string[] Repositories = ["octo-org/one", "octo-org/two"];
    private static readonly string[][] LabelSets = [["self-hosted", "gpu"], ["self-hosted", "arm"]];

    /// <summary>One step: what happens, and three numbers that pick its job, lease and variant.</summary>
    private static readonly Gen<(int Kind, int A, int B)> Step = Gen.Select(Gen.Int[0, 11], Gen.Int[0, 40], Gen.Int[0, 7]);

    private static readonly Gen<(int Limit, (int Kind, int A, int B)[] Steps)> Run = Gen.Select(Gen.Int[1, 4], Step.Array[1, 80]);

    [Fact]
    public void Random_event_sequences_keep_every_admission_invariant_and_leave_no_job_waiting_once_capacity_frees() =>
        Run.Sample(run => Replay(run.Limit, run.Steps), iter: 2_000);

    internal static void Replay(int limit, (int Kind, int A, int B)[] steps)
    {
        var world = new AdmissionWorld(limit);
        var record = new Record();
        var nextJob = 1L;
        foreach (var (kind, a, b) in steps)
        {
            var @event = kind switch
            {
                0 or 1 or 2 => new JobQueued(Job(nextJob++, Repositories[b % 2], LabelSets[(b / 2) % 2], queuedAt: world.Now)),
                3 => Redelivery(world, record, a),
                4 => StartOnOurRunner(world, record, a, b),
                5 => new JobStarted(Pick(record.Queued, a) ?? nextJob, null),
                6 => new JobFinished(Pick(record.Queued.Concat(record.Running.Values), a) ?? nextJob),
                7 or 8 => VmGone(record, a, b),
                9 => Tick(world, b),
                10 => new LimitsSet(new OrganisationLimits { MaxConcurrentVms = 1 + (b % 4) }),
                _ => b % 2 == 0 ? new OperatorSuspended("a test") : new OperatorResumed(),
            };
            Apply(world, record, @event);
        }

        // Capacity frees: the operator lets go, every VM's job finishes and every VM goes, until nothing is left.
        Apply(world, record, new OperatorResumed());
        Apply(world, record, new LimitsSet(new OrganisationLimits { MaxConcurrentVms = limit }));
        for (var round = 0; round < 1_000 && world.State.Leases.Count > 0; round++)
        {
            foreach (var (leaseId, slot) in world.State.Leases.ToList())
            {
                if (slot.BoundJobId is { } bound)
                {
                    Apply(world, record, new JobFinished(bound));
                }

                Apply(world, record, new LeasesGone([new GoneLease(leaseId, Ended(leaseId))]));
            }
        }

        Assert.Empty(world.State.Leases);
        Assert.Empty(world.State.WaitingLine);
        foreach (var job in record.Asked)
        {
            Assert.True(record.Ordered.ContainsKey(job) || record.Refused.Contains(job) || record.LeftQueue.Contains(job),
                $"job {job} was neither admitted, served, refused nor cancelled");
        }
    }

    private static JobQueued Redelivery(AdmissionWorld world, Record record, int a) =>
        new(Job(Pick(record.Asked, a) ?? 1, queuedAt: world.Now));

    /// <summary>A runner of ours takes a queued job it can take, as GitHub would give it one.</summary>
    private static AdmissionEvent StartOnOurRunner(AdmissionWorld world, Record record, int a, int b)
    {
        var free = world.State.Leases.Where(kv => kv.Value.BoundJobId is null && record.Live.Contains(kv.Key)).ToList();
        if (free.Count == 0)
        {
            return new CapacityCheck();
        }

        var (leaseId, slot) = free[a % free.Count];
        var takeable = record.Queued.Where(j => record.Requests[j] is var r && slot.CanTake(r.MachineType.Label, r.Labels, r.Repository)).ToList();
        return takeable.Count == 0 ? new CapacityCheck() : new JobStarted(takeable[b % takeable.Count], leaseId);
    }

    private static AdmissionEvent VmGone(Record record, int a, int b)
    {
        if (Pick(record.Live, a) is not { } leaseId)
        {
            return new CapacityCheck();
        }

        return b == 7 ? new LeaseUnknown(leaseId) : new LeasesGone([new GoneLease(leaseId, Ended(leaseId, refused: b == 6))]);
    }

    private static Tick Tick(AdmissionWorld world, int b)
    {
        world.Now += TimeSpan.FromHours(b * 4);
        return new Tick();
    }

    private static T? Pick<T>(IEnumerable<T> items, int a) where T : struct
    {
        var list = items.ToList();
        return list.Count == 0 ? null : list[a % list.Count];
    }

    private static void Apply(AdmissionWorld world, Record record, AdmissionEvent @event)
    {
        var before = world.State.Leases.Keys.ToHashSet();
        if (@event is JobQueued queued)
        {
            record.Asked.Add(queued.Request.JobId);
            record.Requests.TryAdd(queued.Request.JobId, queued.Request);
            if (!record.Running.ContainsValue(queued.Request.JobId) && !record.LeftQueue.Contains(queued.Request.JobId))
            {
                record.Queued.Add(queued.Request.JobId);
            }
        }

        var decision = world.Apply(@event);
        var limit = world.Machine.LimitsOf(world.State).MaxConcurrentVms;

        // A slot is freed only when its lease reports its VM gone, or is found never stored.
        var freed = before.Where(id => !world.State.Leases.ContainsKey(id)).ToHashSet();
        var reported = @event switch
        {
            LeasesGone gone => gone.Leases.Select(l => l.LeaseId).ToHashSet(),
            LeaseUnknown unknown => [unknown.LeaseId],
            _ => [],
        };
        Assert.Subset(reported, freed);
        record.Live.ExceptWith(freed);

        foreach (var command in decision.Commands)
        {
            switch (command)
            {
                case OrderLease { Repair: false } order when !record.Live.Contains(order.LeaseId):
                    // Live slots never exceed the limit: a new lease is ordered only into room.
                    record.Live.Add(order.LeaseId);
                    Assert.True(record.Live.Count <= limit, $"{record.Live.Count} live leases with a limit of {limit}");
                    record.Ordered[order.Job.JobId] = order.LeaseId;
                    break;
                case RefuseJob refuse:
                    record.Refused.Add(refuse.JobId);
                    record.Queued.Remove(refuse.JobId);
                    break;
                case FailProvisioning failed:
                    record.Refused.Add(failed.JobId);
                    break;
            }
        }

        switch (@event)
        {
            case JobStarted started:
                // A job a runner took (ours or not) left GitHub's queue: it was served.
                record.Queued.Remove(started.JobId);
                record.LeftQueue.Add(started.JobId);
                if (started.LeaseId is { } leaseId)
                {
                    record.Running[leaseId] = started.JobId;
                }

                break;
            case JobFinished finished:
                record.Queued.Remove(finished.JobId);
                record.LeftQueue.Add(finished.JobId);
                break;
            case JobQueued { Request.JobId: var job } when decision.Reply?.Kind == AdmissionKind.Refused:
                record.Refused.Add(job);
                record.Queued.Remove(job);
                break;
        }

        AssertEveryJobOnce(world.State);
    }

    /// <summary>A job gets at most one lease at a time, and waits in line at most once and only without a lease.</summary>
    private static void AssertEveryJobOnce(OrganisationState state)
    {
        var holders = state.Leases.Values.SelectMany(s => new[] { s.ForJob?.JobId, s.BoundJobId }).OfType<long>()
            .Concat(state.WaitingLine.Select(w => w.JobId))
            .Concat(state.ParkedLine.Select(p => p.Request.JobId))
            .ToList();
        Assert.Equal(holders.Count, holders.Distinct().Count());
        Assert.All(state.Leases.Values, s => Assert.False(s.ForJob is not null && s.BoundJobId is not null));
    }

    /// <summary>What the test saw, independently of the machine's state.</summary>
    private sealed class Record
    {
        public HashSet<long> Asked { get; } = [];
        public Dictionary<long, RunnerRequest> Requests { get; } = [];
        public HashSet<long> Queued { get; } = [];
        public HashSet<long> LeftQueue { get; } = [];
        public HashSet<long> Refused { get; } = [];
        public Dictionary<Guid, long> Running { get; } = [];
        public Dictionary<long, Guid> Ordered { get; } = [];
        public HashSet<Guid> Live { get; } = [];
    }
}
