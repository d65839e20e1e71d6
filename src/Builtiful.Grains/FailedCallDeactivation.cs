namespace Builtiful;

/// <summary>
/// A Builtiful grain whose call failed may hold state that never reached storage (the write itself may be what
/// failed). Deactivating it makes the next call reload what was stored, so a redelivered webhook is applied again
/// instead of being mistaken for a duplicate.
/// </summary>
public sealed class FailedCallDeactivation : IIncomingGrainCallFilter
{
    public Task Invoke(IIncomingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);

        // Every grain call passes here (storage, reminders, dashboard and management grains too); only Builtiful's are watched.
        return IsBuiltifulGrain(context.TargetContext) ? InvokeWatchedAsync(context) : context.Invoke();
    }

    private static async Task InvokeWatchedAsync(IIncomingGrainCallContext context)
    {
        try
        {
            await context.Invoke();
        }
        catch (Exception ex)
        {
            context.TargetContext.Deactivate(new DeactivationReason(DeactivationReasonCode.ApplicationError, ex, "a call failed; state reloads from storage"), CancellationToken.None);
            throw;
        }
    }

    // The grains of this assembly are the ones with persistent state; in-memory grains elsewhere must keep theirs.
    private static bool IsBuiltifulGrain(IGrainContext? grain) =>
        grain?.GrainInstance?.GetType().Assembly == typeof(FailedCallDeactivation).Assembly;
}
