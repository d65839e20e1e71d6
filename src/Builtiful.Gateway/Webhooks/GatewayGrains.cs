using Builtiful.Jobs;
using Orleans.Runtime;

namespace Builtiful.Gateway.Webhooks;

/// <summary>
/// Job grain references for the webhook hot path. <c>IGrainFactory.GetGrain&lt;T&gt;(key)</c> resolves the grain
/// interface type of <c>T</c> from its attributes on every call (reflection and type-name formatting); this resolves
/// it once and then builds each reference from its <see cref="GrainId"/> and the cached interface type, which Orleans
/// maps to its cached reference activator. The reference is the same one <c>GetGrain&lt;IJobGrain&gt;(id)</c> returns.
/// </summary>
public sealed class GatewayGrains(IGrainFactory grains)
{
    private (GrainType Type, GrainInterfaceType Interface)? _job;

    public IGrainFactory Factory => grains;

    public IJobGrain Job(long jobId)
    {
        var (type, @interface) = _job ??= Resolve(grains.GetGrain<IJobGrain>(jobId));
        return (IJobGrain)grains.GetGrain(GrainId.Create(type, GrainIdKeyExtensions.CreateIntegerKey(jobId)), @interface);
    }

    private static (GrainType, GrainInterfaceType) Resolve(IAddressable reference)
    {
        var grainReference = (GrainReference)reference;
        return (grainReference.GrainId.Type, grainReference.InterfaceType);
    }
}
