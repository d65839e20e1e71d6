using Builtiful.Chaos;
using Xunit.Abstractions;

namespace Builtiful.Chaos.Tests;

/// <summary>The README's chaos command in quick mode, run by CI: the invariants hold under injected faults.</summary>
public sealed class QuickChaosTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Two_hundred_jobs_under_fifty_or_more_faults_leak_no_VM_strand_no_job_and_bill_nothing_twice()
    {
        using var log = new StringWriter();

        var result = await new ChaosRun(ChaosSettings.Quick, log).RunAsync();

        output.WriteLine(log.ToString());
        output.WriteLine(string.Join(Environment.NewLine, result.Problems));
        output.WriteLine(result.Summary);
        Assert.True(result.Jobs >= 200, result.Summary);
        Assert.True(result.Faults >= 50, result.Summary);
        Assert.Equal(0, result.LeakedVms);
        Assert.Equal(0, result.StrandedJobs);
        Assert.Equal(0, result.DuplicateUsage);
        Assert.Empty(result.Problems);
    }
}
