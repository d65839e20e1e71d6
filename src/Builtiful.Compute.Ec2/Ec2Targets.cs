using Builtiful.Compute.Ec2.Api;
using Builtiful.Compute.Ec2.Options;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Builtiful.Compute.Ec2;

/// <summary>Every configured account and region, each with its SDK client and the silo's shared buckets.</summary>
public sealed class Ec2Targets : IDisposable
{
    public Ec2Targets(
        IOptions<Ec2Options> options,
        Ec2RateLimits limits,
        Ec2Transport transport,
        [FromKeyedServices(BuiltifulClock.Key)] TimeProvider time,
        ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(limits);
        ArgumentNullException.ThrowIfNull(loggers);
        var logger = loggers.CreateLogger<Ec2Api>();
        var value = options.Value;
        var all = value.AllTargets();
        All = [.. all.Select((target, index) =>
        {
            var client = Ec2ClientFactory.Create(target, value, transport);
            var api = new Ec2Api(target.DisplayName, client, limits.For(target.RateLimitKey), value, time, logger);
            return new Ec2Target(index, target, client, api);
        })];
    }

    public IReadOnlyList<Ec2Target> All { get; }

    public void Dispose()
    {
        foreach (var target in All)
        {
            target.Dispose();
        }
    }
}
