using Builtiful.Organisations;
using CsCheck;
using static Builtiful.Decisions.Tests.AdmissionWorld;

namespace Builtiful.Decisions.Tests;

/// <summary>
/// The machine finds a job's lease and place in line through an index instead of scanning: over random sequences, every
/// redelivery is answered exactly as a scan of the stored slots and line would answer it, and live slots never pass the limit.
/// </summary>
public sealed class AdmissionIndexPropertyTests
{
    private static readonly Gen<(int Kind, int A)[]> Steps = Gen.Select(Gen.Int[0, 6], Gen.Int[0, 30]).Array[1, 60];

    [Fact]
    public void Redeliveries_answered_through_the_index_match_a_scan_of_the_slots_and_the_line() =>
        Steps.Sample(steps =>
        {
            var world = new AdmissionWorld(maxConcurrentVms: 3);
            var nextJob = 1L;
            var started = new HashSet<long>();
            foreach (var (kind, a) in steps)
            {
                var leases = world.State.Leases.Keys.ToList();
                var free = world.State.Leases.Where(kv => kv.Value.BoundJobId is null).Select(kv => kv.Key).ToList();
                var job = 1 + (a % nextJob);

                // As GitHub does: a runner takes one job, and a job that started never starts again.
                var startable = !started.Contains(job);
                AdmissionEvent @event = kind switch
                {
                    0 or 1 => new JobQueued(Job(nextJob++, queuedAt: world.Now)),
                    2 when startable => new JobStarted(job, free.Count == 0 || a % 3 == 0 ? null : free[a % free.Count]),
                    3 => new JobFinished(1 + (a % nextJob)),
                    4 when leases.Count > 0 => new LeasesGone([new GoneLease(leases[a % leases.Count], Ended(leases[a % leases.Count]))]),
                    5 when leases.Count > 0 => new LeaseUnknown(leases[a % leases.Count]),
                    _ => new CapacityCheck(),
                };
                world.Apply(@event);
                if (@event is JobStarted or JobFinished)
                {
                    // A job that left GitHub's queue is never redelivered as queued.
                    started.Add(job);
                }
                Assert.True(world.State.Leases.Count <= 3, $"{world.State.Leases.Count} slots with a limit of 3");

                for (var redelivered = 1L; redelivered < nextJob; redelivered++)
                {
                    if (started.Contains(redelivered))
                    {
                        continue;
                    }

                    var waiting = world.State.WaitingLine.FindIndex(w => w.JobId == redelivered);
                    var held = world.State.Leases.Where(kv => kv.Value.BoundJobId == redelivered || kv.Value.ForJob?.JobId == redelivered).Select(kv => (Guid?)kv.Key).SingleOrDefault();
                    var reply = world.Apply(new JobQueued(Job(redelivered, queuedAt: world.Now))).Reply!;
                    if (waiting >= 0)
                    {
                        Assert.Equal(new Admission(AdmissionKind.Duplicate, Position: waiting + 1), reply);
                    }
                    else if (held is { } leaseId)
                    {
                        Assert.Equal(new Admission(AdmissionKind.Duplicate, LeaseId: leaseId), reply);
                    }
                    else
                    {
                        // Not held: a job still queued whose VM ended for good is admitted anew.
                        Assert.NotEqual(AdmissionKind.Duplicate, reply.Kind);
                    }
                }
            }
        }, iter: 500);
}
