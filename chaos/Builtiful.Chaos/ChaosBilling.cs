using Builtiful.Leases;
using Builtiful.Simulation.GitHub;
using Builtiful.Usage;

namespace Builtiful.Chaos;

/// <summary>
/// Billing against what GitHub saw run. Every minute an organisation is billed must be covered by GitHub's record of a
/// runner running that job, rounded the way billing rounds (whole minutes, up, at least one); minutes beyond that are
/// billed twice or for nothing. Every job GitHub saw complete on a Builtiful runner must be billed once.
/// </summary>
public static class ChaosBilling
{
    private const int PageSize = 500;

    public static async Task<(long ExtraMinutes, IReadOnlyList<long> Unbilled, List<string> Problems)> CheckAsync(
        IGrainFactory grains, IReadOnlyList<JobRecord> ranOnOurs, IEnumerable<long> organisations, IEnumerable<string> months)
    {
        ArgumentNullException.ThrowIfNull(grains);
        ArgumentNullException.ThrowIfNull(ranOnOurs);
        ArgumentNullException.ThrowIfNull(organisations);
        ArgumentNullException.ThrowIfNull(months);
        var byJob = ranOnOurs.ToLookup(r => r.Id);
        var billedJobs = new HashSet<long>();
        var problems = new List<string>();
        long extra = 0;
        foreach (var installationId in organisations)
        {
            foreach (var month in months.Distinct(StringComparer.Ordinal))
            {
                var usage = grains.GetGrain<IUsageGrain>(UsageMonth.Key(installationId, month));
                var billed = new List<JobRun>();
                for (var offset = 0; ; offset += PageSize)
                {
                    var page = await usage.GetRuns(offset, PageSize);
                    billed.AddRange(page.Items);
                    if (page.Items.Count == 0 || offset + page.Items.Count >= page.Total)
                    {
                        break;
                    }
                }

                var view = await usage.GetView();
                var perJob = billed.Sum(r => r.BillableMinutes);
                if (view.TotalMinutes != perJob || view.Jobs != billed.Count)
                {
                    extra += Math.Max(0, view.TotalMinutes - perJob);
                    problems.Add($"usage {installationId}:{month} totals {view.TotalMinutes} minutes over {view.Jobs} jobs but lists {perJob} minutes over {billed.Count}");
                }

                foreach (var run in billed)
                {
                    var over = Overbilled(run, byJob[run.JobId], billedJobs.Add(run.JobId), out var why);
                    if (over > 0)
                    {
                        extra += over;
                        problems.Add($"job {run.JobId} of installation {installationId} billed {run.BillableMinutes} min in {month} on lease {run.LeaseId:N}: {why}");
                    }
                }
            }
        }

        var unbilled = ranOnOurs.Where(r => r.CompletedAt is not null && !billedJobs.Contains(r.Id)).ToList();
        problems.AddRange(unbilled.Take(20).Select(r => $"unbilled: job {r.Id} ran on {r.RunnerName} from {r.StartedAt:HH:mm:ss.fff} to {r.CompletedAt:HH:mm:ss.fff} and was never billed"));
        return (extra, [.. unbilled.Select(r => r.Id)], problems);
    }

    /// <summary>Minutes <paramref name="billed"/> charges beyond what the job really ran; <paramref name="first"/> is false when the job was already billed.</summary>
    public static long Overbilled(JobRun billed, IEnumerable<JobRecord> ran, bool first, out string why)
    {
        ArgumentNullException.ThrowIfNull(billed);
        ArgumentNullException.ThrowIfNull(ran);
        if (!first)
        {
            why = "the job was already billed in another month";
            return billed.BillableMinutes;
        }

        var runner = RunnerNames.ForLease(billed.LeaseId);
        var candidates = ran.Where(r => r is { StartedAt: not null, CompletedAt: not null }).ToList();
        var real = candidates.FirstOrDefault(r => r.RunnerName == runner) ?? candidates.FirstOrDefault();
        if (real is null)
        {
            why = "no Builtiful runner ever ran it";
            return billed.BillableMinutes;
        }

        var minutes = JobRun.MinutesBetween(real.StartedAt!.Value, real.CompletedAt!.Value);
        why = $"it ran {(real.CompletedAt.Value - real.StartedAt.Value).TotalSeconds:0.0}s on {real.RunnerName}, {minutes} min";
        return Math.Max(0, billed.BillableMinutes - minutes);
    }
}
