using Builtiful.Silo;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Builtiful.Grains.Tests;

/// <summary>Each grain option's bad value stops start-up with one message naming its key, the value and what to use.</summary>
public sealed class GrainOptionsValidationTests
{
    [Theory]
    [InlineData("Leases:BootDeadline", "00:00:00", "Leases:BootDeadline is 00:00:00; use more than 00:00:00")]
    [InlineData("Leases:MaxLifetime", "00:05:00", "Leases:MaxLifetime is 00:05:00; it must be longer than Leases:BootDeadline (00:10:00)")]
    [InlineData("Leases:CheckPeriod", "00:00:00.5", "Leases:CheckPeriod is 00:00:00.5000000; use at least 00:00:01 (one second)")]
    [InlineData("Leases:LaunchRetryDelay", "00:00:00", "Leases:LaunchRetryDelay is 00:00:00; use more than 00:00:00")]
    [InlineData("Leases:LaunchRetryMaxDelay", "-00:00:01", "Leases:LaunchRetryMaxDelay is -00:00:01; use more than 00:00:00")]
    [InlineData("Leases:LaunchGiveUpAfter", "00:00:00", "Leases:LaunchGiveUpAfter is 00:00:00; use more than 00:00:00")]
    [InlineData("Organisations:MaxConcurrentVms", "0", "Organisations:MaxConcurrentVms is 0; use at least 1")]
    [InlineData("Reconciler:Period", "00:00:00", "Reconciler:Period is 00:00:00; use at least 00:00:01 (one second)")]
    [InlineData("Reconciler:MaxInstancesPerSweep", "-1", "Reconciler:MaxInstancesPerSweep is -1; use at least 1")]
    [InlineData("Usage:HourPageSize", "0", "Usage:HourPageSize is 0; use at least 1")]
    [InlineData("GitHub:Redelivery:Period", "00:00:00", "GitHub:Redelivery:Period is 00:00:00; use at least 00:00:01 (one second); GitHub keeps failed deliveries for three days")]
    [InlineData("Retention:MaxRecordsPerSweep", "100001", "Retention:MaxRecordsPerSweep is 100001; it must be between 1 and 100000")]
    public void A_bad_setting_stops_start_up_naming_its_key(string key, string value, string message)
    {
        using var services = Services(new Dictionary<string, string?> { [key] = value });

        var refused = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());

        Assert.Equal(message, Assert.Single(refused.Failures));
    }

    [Fact]
    public void The_defaults_start()
    {
        using var services = Services([]);

        services.GetRequiredService<IStartupValidator>().Validate();

        Assert.Equal(TimeSpan.FromMinutes(10), services.GetRequiredService<IOptions<Leases.LeaseOptions>>().Value.BootDeadline);
    }

    private static ServiceProvider Services(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddConfiguration(LifecycleCluster.Configuration).AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddLogging().AddBuiltifulGrainServices(configuration).BuildServiceProvider();
    }
}
