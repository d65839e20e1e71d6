namespace Builtiful.Jobs;

/// <summary>What a lease reports while the job waits for its VM.</summary>
public sealed partial class JobGrain
{
    public async Task LaunchWaiting(string reason)
    {
        if (!Job.Known || Job.Status != JobStatus.Queued || Job.RejectionReason is not null || Job.WaitingReason == reason)
        {
            return;
        }

        Job.WaitingReason = reason;
        await WriteAndRestAsync();
    }
}
