using Builtiful.Chaos;
using Xunit.Abstractions;

namespace Builtiful.Chaos.Tests;

/// <summary>
/// The README's chaos command in quick mode, run by CI: two silo processes on PostgreSQL, one SIGKILLed mid-run, a
/// simulated GitHub and cloud that misbehave; judged by their records.
/// </summary>
public sealed class QuickChaosTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Two_hundred_jobs_through_faults_and_a_killed_silo_leak_no_VM_strand_no_job_and_bill_every_run_once()
    {
        using var log = new StringWriter();

        var result = await new ChaosRun(ChaosSettings.Quick, log).RunAsync();

        output.WriteLine(log.ToString());
        output.WriteLine(string.Join(Environment.NewLine, result.Problems));
        output.WriteLine(result.Summary);
        Assert.True(result.Jobs >= 200, result.Summary);
        Assert.True(result.Faults >= 50, result.Summary);
        Assert.True(result.Approvals >= 10, result.Summary);
        Assert.True(result.Redelivered >= 10, result.Summary);
        Assert.True(result.SiloKills >= 1, result.Summary);
        Assert.Equal(0, result.LeakedVms);
        Assert.Equal(0, result.StrandedJobs);
        Assert.Equal(0, result.DuplicateUsage);
        Assert.Equal(0, result.UnbilledJobs);
        Assert.True(result.ExtraVmsWithinBound, result.Summary);
        Assert.Empty(result.Problems);
        Assert.True(result.PoolRuns >= 1, result.PoolSummary);
        Assert.Equal(4, result.LateJobs);
    }
}
