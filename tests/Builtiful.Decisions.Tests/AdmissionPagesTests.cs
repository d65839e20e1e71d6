using System.Globalization;
using Builtiful.Organisations;
using CsCheck;
using static Builtiful.Decisions.Tests.AdmissionWorld;

namespace Builtiful.Decisions.Tests;

/// <summary>
/// The slots and the waiting line are stored page by page, and only the pages a change marked are written. Judged by a
/// model of the stored pages: after every change the marked pages are "stored" (as text, so later in-place changes cannot
/// reach them), and the slots and line read back from the stored pages must equal the live ones.
/// </summary>
public sealed class AdmissionPagesTests
{
    private static readonly Gen<(int Kind, int A)[]> LineSteps = Gen.Select(Gen.Int[0, 5], Gen.Int[0, 40]).Array[1, 120];

    private static readonly Gen<(int Kind, int A)[]> SlotSteps = Gen.Select(Gen.Int[0, 3], Gen.Int[0, 40]).Array[1, 120];

    private static readonly Gen<(int Kind, int A, int B)[]> EventSteps = Gen.Select(Gen.Int[0, 10], Gen.Int[0, 30], Gen.Int[0, 7]).Array[1, 80];

    [Fact]
    public void A_line_changed_anyhow_reads_back_from_its_marked_pages_and_keeps_its_pages_few_and_small() =>
        LineSteps.Sample(steps =>
        {
            var line = new WaitingLine(pageSize: 4);
            var model = new List<long>();
            var stored = new Dictionary<int, string>();
            var next = 1L;
            foreach (var (kind, a) in steps)
            {
                switch (kind)
                {
                    case 0 or 1:
                        line.Add(Waiting(next));
                        model.Add(next++);
                        break;
                    case 2:
                        var at = a % 2 == 0 ? 0 : a % (model.Count + 1);
                        line.Insert(at, Waiting(next));
                        model.Insert(at, next++);
                        break;
                    case 3 when model.Count > 0:
                        line.RemoveAt(a % model.Count);
                        model.RemoveAt(a % model.Count);
                        break;
                    case 4:
                        Assert.Equal(model.RemoveAll(j => j % 3 == a % 3), line.RemoveAll(w => w.JobId % 3 == a % 3));
                        break;
                    default:
                        if (a == 0)
                        {
                            line.Clear();
                            model.Clear();
                        }

                        break;
                }

                Assert.Equal(model, line.Select(w => w.JobId));
                Assert.Equal(model.Count, line.Count);
                Assert.Equal(model.Count == 0 ? -1 : model.Count - 1, line.FindIndex(w => w.JobId == model.LastOrDefault()));
                foreach (var page in line.TakeDirtyPages())
                {
                    stored[page] = Describe(line.PageContent(page));
                }

                var pages = line.PageIds.ToList();
                Assert.Equal(Describe(line), string.Join(';', pages.Select(p => stored[p]).Where(p => p.Length > 0)));
                Assert.All(pages, p => Assert.InRange(line.PageContent(p).Count, 1, 4));
                Assert.True(pages.Count <= (2 * model.Count / 4) + 1, $"{pages.Count} pages for {model.Count} jobs of page size 4");
            }
        }, iter: 400);

    [Fact]
    public void Slots_changed_in_place_or_moved_read_back_from_their_marked_pages() =>
        SlotSteps.Sample(steps =>
        {
            var slots = new SlotDictionary(pageSize: 3);
            var stored = new Dictionary<int, string>();
            foreach (var (kind, a) in steps)
            {
                var leaseId = LeaseNumber(1 + (a % 12));
                switch (kind)
                {
                    case 0:
                        slots[leaseId] = new LeaseSlot { MachineType = Small, BoundJobId = a };
                        break;
                    case 1:
                        slots.Remove(leaseId);
                        break;
                    default:
                        if (slots.TryGetValue(leaseId, out var slot))
                        {
                            slot.BoundJobId = a;
                            slots.Touch(leaseId);
                        }

                        break;
                }

                foreach (var page in slots.TakeDirtyPages())
                {
                    stored[page] = Describe(slots.PageContent(page));
                }

                Assert.Equal(Describe(slots), string.Join(';', stored.Values.Where(p => p.Length > 0).SelectMany(p => p.Split(';')).Order(StringComparer.Ordinal)));
                Assert.All(Enumerable.Range(0, slots.PageCount), p => Assert.True(slots.PageContent(p).Count <= 3));
                Assert.True(slots.PageCount <= Math.Max(1, 12 / 3), $"{slots.PageCount} pages for at most 12 slots of page size 3");
            }
        }, iter: 400);

    [Fact]
    public void Every_admission_decision_marks_every_page_it_changed() =>
        EventSteps.Sample(steps =>
        {
            var world = new AdmissionWorld(maxConcurrentVms: 5);
            world.State.Leases = new SlotDictionary(pageSize: 2);
            world.State.WaitingLine = new WaitingLine(pageSize: 2);
            var storedSlots = new Dictionary<int, string>();
            var storedLine = new Dictionary<int, string>();
            var nextJob = 1L;
            var started = new HashSet<long>();
            foreach (var (kind, a, b) in steps)
            {
                var leases = world.State.Leases.Keys.ToList();
                var job = 1 + (a % nextJob);

                // As GitHub does: a job that started or finished never starts again.
                var startable = !started.Contains(job);
                AdmissionEvent @event = kind switch
                {
                    0 or 1 or 2 => new JobQueued(Job(nextJob++, repository: b % 2 == 0 ? "octo-org/app" : "octo-org/web", queuedAt: world.Now)),
                    3 when startable => new JobStarted(job, leases.Count == 0 || b == 0 ? null : leases[a % leases.Count]),
                    4 => new JobFinished(job),
                    5 when leases.Count > 0 => new LeasesGone([new GoneLease(leases[a % leases.Count], Ended(leases[a % leases.Count], refused: b == 1))]),
                    6 when leases.Count > 0 => new LeaseUnknown(leases[a % leases.Count]),
                    7 => new Tick(),
                    8 => b switch
                    {
                        0 => new OperatorSuspended("a test"),
                        1 => new OperatorResumed(),
                        2 => new LimitsSet(new OrganisationLimits { MaxConcurrentVms = 1 + (a % 6) }),
                        _ => new CapacityCheck(),
                    },
                    9 when b == 0 && a % 5 == 0 => new InstallationChanged(new InstallationChange { Action = InstallationAction.Deleted }),
                    _ => new CapacityCheck(),
                };

                // Time passes: orders become overdue and are sent again, and now and then the oldest jobs expire.
                world.Now += kind == 7 && b == 7 ? world.Options.QueuedJobLifetime : TimeSpan.FromMinutes(b);
                world.Apply(@event);
                if (@event is JobStarted or JobFinished)
                {
                    started.Add(job);
                }

                foreach (var page in world.State.Leases.TakeDirtyPages())
                {
                    storedSlots[page] = Describe(world.State.Leases.PageContent(page));
                }

                foreach (var page in world.State.WaitingLine.TakeDirtyPages())
                {
                    storedLine[page] = Describe(world.State.WaitingLine.PageContent(page));
                }

                var slotsReadBack = storedSlots.Values.Where(p => p.Length > 0).SelectMany(p => p.Split(';')).Order(StringComparer.Ordinal);
                Assert.Equal(Describe(world.State.Leases), string.Join(';', slotsReadBack));
                var lineReadBack = world.State.WaitingLine.PageIds.Select(p => storedLine[p]);
                Assert.Equal(Describe(world.State.WaitingLine), string.Join(';', lineReadBack));
            }
        }, iter: 400);

    [Fact]
    public void A_job_appended_to_a_long_line_marks_only_the_last_page_and_a_slot_change_only_its_own()
    {
        var world = new AdmissionWorld(maxConcurrentVms: 200);
        for (var job = 1L; job <= 200 + (3 * WaitingLine.DefaultPageSize); job++)
        {
            world.Queue(job);
        }

        Assert.Equal(200 / SlotDictionary.DefaultPageSize + 1, world.State.Leases.PageCount);
        Assert.Equal(3, world.State.WaitingLine.PageIds.Count());
        world.State.Leases.TakeDirtyPages();
        world.State.WaitingLine.TakeDirtyPages();

        world.Queue(1_000);
        Assert.Empty(world.State.Leases.DirtyPages);
        Assert.Equal([world.State.WaitingLine.PageIds.Last()], world.State.WaitingLine.DirtyPages);

        world.State.WaitingLine.TakeDirtyPages();
        world.Apply(new JobFinished(150));

        // The finished job's VM goes to the head of the line: its slot's page and the line's first page, nothing else.
        Assert.Equal([(150 - 1) / SlotDictionary.DefaultPageSize], world.State.Leases.DirtyPages);
        Assert.Equal([world.State.WaitingLine.PageIds.First()], world.State.WaitingLine.DirtyPages);
    }

    private static WaitingJob Waiting(long jobId) => new() { JobId = jobId, MachineType = Small, Labels = [], QueuedAt = Start };

    private static string Describe(IEnumerable<WaitingJob> jobs) =>
        string.Join(';', jobs.Select(w => string.Create(CultureInfo.InvariantCulture, $"{w.JobId}/{w.Attempts}/{w.Repository}/{w.QueuedAt:O}")));

    private static string Describe(IEnumerable<KeyValuePair<Guid, LeaseSlot>> slots) => string.Join(';', slots
        .Select(kv => string.Create(CultureInfo.InvariantCulture,
            $"{kv.Key}/{kv.Value.ForJob?.JobId}/{kv.Value.ForJob?.Attempts}/{kv.Value.BoundJobId}/{kv.Value.Release?.Reason}/{kv.Value.Release?.SentAt:O}/{kv.Value.Release?.Termination}/{string.Join(',', kv.Value.RunnerLabels)}/{kv.Value.RunnerRepository}"))
        .Order(StringComparer.Ordinal));
}
