using Orleans.Concurrency;


namespace Builtiful.Leases;

/// <summary>
/// One VM, from request to confirmed termination, keyed by a new lease id per VM. Its organisation holds one Orleans
/// reminder while it has any live lease and calls <see cref="Check"/> on each of them every check period, so
/// deadlines hold even when webhooks are lost or silos die.
/// </summary>
[Alias("builtiful.vm-lease")]
public interface IVmLeaseGrain : IGrainWithGuidKey
{
    /// <summary>
    /// Records the order and starts the launch. Idempotent. The organisation calls it only once the lease is in its
    /// stored slots and its reminder is registered, so no VM launches that no reminder reaches.
    /// </summary>
    [Alias("request")]
    Task Request(LeaseOrder order);

    /// <summary><c>in_progress</c>: the runner on this VM took <paramref name="jobId"/>.</summary>
    [Alias("bind")]
    Task<BindOutcome> BindJob(long jobId);

    /// <summary><c>completed</c>: the job that ran here is over, so the VM goes.</summary>
    [Alias("job-completed")]
    Task JobCompleted(long jobId);

    /// <summary>
    /// The organisation no longer needs this VM (its job was cancelled, the installation went away). An idle
    /// runner is deregistered first; when GitHub says the runner just took a job, the VM lives on.
    /// </summary>
    [Alias("release")]
    Task<ReleaseOutcome> Release(string reason);

    /// <summary>Destroys the VM whatever it is doing (installation deleted, operator action).</summary>
    [Alias("terminate")]
    Task Terminate(string reason);

    /// <summary>
    /// <see cref="Release"/> sent one way: the organisation never waits on the cloud or GitHub; the lease reports back
    /// through the organisation's <c>LeaseEnded</c>, and the organisation's tick sends it again if it was lost.
    /// </summary>
    [OneWay, Alias("order-release")]
    Task OrderRelease(string reason);

    /// <summary><see cref="Terminate"/> sent one way, reported back and re-sent like <see cref="OrderRelease"/>.</summary>
    [OneWay, Alias("order-termination")]
    Task OrderTermination(string reason);

    /// <summary>
    /// The organisation's reminder tick: enforces the boot deadline and maximum lifetime, retries a pending launch,
    /// release or termination. An ended lease sends its one-way "lease ended" again, which repairs a lost one.
    /// </summary>
    [Alias("check")]
    Task<LeaseCheck> Check();

    /// <summary>
    /// The organisation's batched look at its VMs found this lease's instance terminated or unknown to the provider while
    /// the lease is Idle or Busy (its <c>completed</c> was lost, the VM died or was terminated out of band): the runner's
    /// registration is removed and the lease ends, so its slot is free long before the maximum lifetime. Ignored unless the
    /// lease is still Idle or Busy on that very instance.
    /// </summary>
    [Alias("vm-gone")]
    Task VmGone(string instanceId, Providers.InstanceState observed);

    /// <summary>
    /// A booted VM asks for its runner config (the gateway verified its instance identity document). The config is
    /// minted at this moment and returned once; a second claim, or the right token from another instance, is refused
    /// and terminates the lease's VM.
    /// </summary>
    [Alias("claim")]
    Task<ClaimAnswer> Claim(ClaimRequest request);

    /// <summary>Retention: a lease whose VM is gone forgets its jobs, labels and repository; a live lease is kept.</summary>
    [Alias("forget")]
    Task<Jobs.RetentionOutcome> Forget();

    /// <summary>A read that never waits behind a slow launch or termination.</summary>
    [ReadOnly, AlwaysInterleave, Alias("view")]
    Task<LeaseView?> GetView();
}

public enum BindOutcome
{
    Bound = 0,
    AlreadyBound = 1,
    /// <summary>The lease is over or bound to another job; the binding was refused.</summary>
    Refused = 2,
    /// <summary>No lease with this id exists.</summary>
    Unknown = 3,
    /// <summary>The lease had already given up its VM when it heard the runner took the job; the job ran here all the same.</summary>
    RanAfterEnd = 4,
}

public enum LeaseCheck
{
    Live = 0,
    /// <summary>The lease is over (terminated or failed); it has told its organisation again.</summary>
    Ended = 1,
    /// <summary>No lease with this id was ever recorded: its request never arrived.</summary>
    Unknown = 2,
}

public enum ReleaseOutcome
{
    Terminating = 0,
    /// <summary>The runner took a job before it could be deregistered; the VM stays for that job.</summary>
    KeptBusy = 1,
    AlreadyOver = 2,
}
