using Builtiful.Pools;
using Microsoft.Extensions.Configuration;

namespace Builtiful.Decisions.Tests.Pools;

/// <summary>The pool's decisions: how many to launch, which to expire, which to hand out; and its configuration's errors.</summary>
public sealed class PoolMachineTests
{
    // A Wednesday.
    private static readonly DateTimeOffset Now = new(2026, 12, 9, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Life = TimeSpan.FromMinutes(30);
    private static readonly PoolSettings Settings = new("linux", "builtiful-4vcpu-ubuntu-2404", 2, 4, Life, null, []);

    private static PoolVm Vm(int n, TimeSpan left, Guid? takenBy = null, bool expiring = false, bool launched = true) => new()
    {
        VmId = Guid.Parse($"00000000-0000-4000-8000-{n:D12}"),
        InstanceId = launched ? $"i-{n}" : null,
        LaunchedAt = Now - (Life - left),
        IdleDeadline = Now + left,
        RequestedAt = Now - (Life - left),
        TakenBy = takenBy,
        Expiring = expiring,
    };

    public static TheoryData<string, PoolVm[], int, int> Plans => new()
    {
        // name, VMs, expected launches, expected expiries
        { "empty pool fills to MinIdle", [], 2, 0 },
        { "at MinIdle launches nothing", [Vm(1, Life), Vm(2, Life)], 0, 0 },
        { "a taken VM no longer counts", [Vm(1, Life), Vm(2, Life, takenBy: Guid.NewGuid())], 1, 0 },
        { "an expiring VM no longer counts", [Vm(1, Life), Vm(2, Life, expiring: true)], 1, 0 },
        { "a VM past its deadline expires and is replaced", [Vm(1, Life), Vm(2, TimeSpan.Zero)], 1, 1 },
        { "a VM too close to its deadline to hand out goes and a successor boots", [Vm(1, Life), Vm(2, TimeSpan.FromMinutes(1))], 1, 1 },
        { "a taken VM past its idle deadline is the lease's, not the pool's to expire", [Vm(1, Life), Vm(2, Life), Vm(3, TimeSpan.Zero, takenBy: Guid.NewGuid())], 0, 0 },
        { "above MaxIdle the VMs with the least life left go", [Vm(1, Life), Vm(2, Life), Vm(3, Life), Vm(4, TimeSpan.FromMinutes(20)), Vm(5, TimeSpan.FromMinutes(15))], 0, 1 },
        { "a launch in flight counts", [Vm(1, Life), Vm(2, Life, launched: false)], 0, 0 },
    };

    [Theory]
    [MemberData(nameof(Plans))]
    public void Plans_keep_idle_vms_between_min_and_max(string name, PoolVm[] vms, int launches, int expiries)
    {
        var plan = PoolMachine.Plan(Settings, new PoolState { Vms = [.. vms] }, Now);
        Assert.True(launches == plan.Launch, $"{name}: launch {plan.Launch}, expected {launches}");
        Assert.True(expiries == plan.Expire.Count, $"{name}: expire {plan.Expire.Count}, expected {expiries}");
    }

    [Fact]
    public void Above_max_idle_the_vm_with_the_least_idle_life_is_the_one_expired()
    {
        var plan = PoolMachine.Plan(Settings with { MaxIdle = 1, MinIdle = 1 }, new PoolState { Vms = [Vm(1, Life), Vm(2, TimeSpan.FromMinutes(20))] }, Now);
        Assert.Equal(Vm(2, Life).VmId, Assert.Single(plan.Expire).VmId);
    }

    [Fact]
    public void Overrides_replace_the_configured_bounds_and_the_schedule()
    {
        var state = new PoolState { MinIdleOverride = 3, MaxIdleOverride = 3 };
        Assert.Equal(3, PoolMachine.Plan(Settings, state, Now).Launch);
        var weekdays = Settings with { Schedule = [new PoolWindow(PoolsOptions.Days("Mon-Fri")!, new TimeOnly(8, 0), new TimeOnly(18, 0), 4)] };
        Assert.Equal((3, 3), PoolMachine.Bounds(weekdays, state, Now));
        Assert.Equal((4, 4), PoolMachine.Bounds(weekdays, new PoolState(), Now));
        Assert.Equal((2, 4), PoolMachine.Bounds(weekdays, new PoolState(), Now.AddDays(3)));
        Assert.Equal((2, 4), PoolMachine.Bounds(weekdays, new PoolState(), Now.AddHours(7)));
    }

    [Fact]
    public void An_overnight_window_holds_after_from_and_before_to_on_the_next_day()
    {
        var night = new PoolWindow(PoolsOptions.Days("Fri")!, new TimeOnly(22, 0), new TimeOnly(6, 0), 0);
        var friday = new DateTimeOffset(2026, 12, 11, 23, 0, 0, TimeSpan.Zero);
        Assert.True(night.Contains(friday));
        Assert.True(night.Contains(friday.AddHours(5)));
        Assert.False(night.Contains(friday.AddHours(8)));
        Assert.False(night.Contains(friday.AddDays(-1)));
    }

    [Fact]
    public void Ready_vms_are_handed_out_before_booting_ones_and_never_one_too_close_to_its_deadline()
    {
        var booting = Vm(1, TimeSpan.FromMinutes(25));
        var ready = Vm(2, Life);
        var old = Vm(3, TimeSpan.FromMinutes(6));
        var state = new PoolState { Vms = [booting, ready, old, Vm(4, Life, takenBy: Guid.NewGuid()), Vm(5, Life, launched: false)] };
        var margin = PoolMachine.HandOutMargin(Life);
        var grace = Life;
        Assert.Equal(ready.VmId, PoolMachine.Choose(state, new HashSet<Guid> { ready.VmId }, margin, grace, Now)!.VmId);
        Assert.Equal(old.VmId, PoolMachine.Choose(state, new HashSet<Guid>(), margin, grace, Now)!.VmId);
        Assert.Null(PoolMachine.Choose(new PoolState { Vms = [Vm(6, TimeSpan.FromMinutes(1))] }, new HashSet<Guid>(), margin, grace, Now));
    }

    [Fact]
    public void A_vm_not_seen_claiming_is_handed_out_only_while_it_may_still_be_booting()
    {
        // Launched 5 and 24 minutes ago; neither has claimed since this activation began.
        var young = Vm(1, Life - TimeSpan.FromMinutes(5));
        var silent = Vm(2, Life - TimeSpan.FromMinutes(24));
        var state = new PoolState { Vms = [silent, young] };
        var margin = PoolMachine.HandOutMargin(Life);
        var bootGrace = TimeSpan.FromMinutes(10);

        Assert.Equal(young.VmId, PoolMachine.Choose(state, new HashSet<Guid>(), margin, bootGrace, Now)!.VmId);
        Assert.Null(PoolMachine.Choose(new PoolState { Vms = [silent] }, new HashSet<Guid>(), margin, bootGrace, Now));
        // Once it claims, the old VM is ready and goes first (least idle life left among ready ones).
        Assert.Equal(silent.VmId, PoolMachine.Choose(state, new HashSet<Guid> { silent.VmId }, margin, bootGrace, Now)!.VmId);
    }

    [Fact]
    public void The_next_look_is_at_the_first_hand_out_margin_ahead()
    {
        var state = new PoolState { Vms = [Vm(1, TimeSpan.FromMinutes(10)), Vm(2, TimeSpan.FromMinutes(3))] };
        Assert.Equal(Now + TimeSpan.FromMinutes(1), PoolMachine.NextDue(Settings, state, Now));
        Assert.Null(PoolMachine.NextDue(Settings, new PoolState(), Now));
    }

    public static TheoryData<string, string, string> BadSettings => new()
    {
        { "MinIdle", "-1", "Pools:linux:MinIdle is -1; use a whole number, at least 0" },
        { "MaxIdle", "many", "Pools:linux:MaxIdle is many; use a whole number, at least 0" },
        { "IdleLifetime", "half an hour", "Pools:linux:IdleLifetime is half an hour; use a duration of at least 00:00:01" },
        { "Schedule:0:Days", "Weekdays", "Pools:linux:Schedule:0:Days is Weekdays; use days such as Mon-Fri" },
        { "Schedule:0:From", "8am", "Pools:linux:Schedule:0:From is 8am; use a time of day in UTC as HH:mm" },
        { "MinIdle", "9", "Pools:linux:MinIdle is 9, more than Pools:linux:MaxIdle (4)" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public void Bad_settings_are_named_with_their_value_and_what_to_use(string key, string value, string expected)
    {
        var values = new Dictionary<string, string?>
        {
            ["Pools:linux:MachineType"] = "builtiful-4vcpu-ubuntu-2404",
            ["Pools:linux:MinIdle"] = "1",
            ["Pools:linux:MaxIdle"] = "4",
            ["Pools:linux:Schedule:0:Days"] = "Mon-Fri",
            ["Pools:linux:Schedule:0:From"] = "08:00",
            ["Pools:linux:Schedule:0:To"] = "18:00",
            ["Pools:linux:Schedule:0:MinIdle"] = "3",
        };
        values["Pools:linux:" + key] = value;
        var read = PoolsOptions.Read(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
        Assert.Contains(read.Problems, p => p.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void A_machine_type_the_catalogue_does_not_serve_and_two_pools_of_one_type_are_refused_at_start()
    {
        var catalogue = new Builtiful.Machines.MachineCatalogue(new Builtiful.Machines.MachineCatalogueOptions
        {
            Sizes = [new() { Vcpu = 2, MemoryGiB = 8 }],
            Images = [new() { OperatingSystem = "ubuntu-2404", Images = new() { ["Simulated"] = "sim" } }],
        });
        var read = PoolsOptions.Read(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Pools:a:MachineType"] = "builtiful-64vcpu-ubuntu-2404",
            ["Pools:b:MachineType"] = "builtiful-2vcpu-ubuntu-2404",
            ["Pools:c:MachineType"] = "builtiful-2vcpu-ubuntu-2404",
        }).Build());

        var result = new PoolsOptionsValidator(catalogue).Validate(null, read);

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f == "Pools:a:MachineType is builtiful-64vcpu-ubuntu-2404; use a machine type of the catalogue, e.g. builtiful-2vcpu-ubuntu-2404");
        Assert.Contains(result.Failures!, f => f.StartsWith("Pools:b and Pools:c both pool builtiful-2vcpu-ubuntu-2404", StringComparison.Ordinal));
    }

    [Fact]
    public void A_full_pool_reads_with_its_defaults_and_no_section_means_no_pools()
    {
        var read = PoolsOptions.Read(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Pools:linux:MachineType"] = "builtiful-4vcpu-ubuntu-2404",
            ["Pools:linux:MinIdle"] = "1",
            ["Pools:linux:MaxIdle"] = "3",
            ["Pools:linux:Schedule:0:Days"] = "Mon-Fri",
            ["Pools:linux:Schedule:0:From"] = "08:00",
            ["Pools:linux:Schedule:0:To"] = "18:00",
            ["Pools:linux:Schedule:0:MinIdle"] = "3",
        }).Build());
        Assert.Empty(read.Problems);
        var pool = Assert.Single(read.Pools);
        Assert.Equal(PoolSettings.DefaultIdleLifetime, pool.IdleLifetime);
        Assert.Null(pool.Target);
        Assert.Equal(5, Assert.Single(pool.Schedule).Days.Count);
        Assert.Same(pool, read.PoolFor("BUILTIFUL-4vcpu-ubuntu-2404"));

        var none = PoolsOptions.Read(new ConfigurationBuilder().Build());
        Assert.Empty(none.Pools);
        Assert.Empty(none.Problems);
    }
}
