using Builtiful.Providers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Builtiful.GitHub;

/// <summary>One per cluster (key 0), so two silos never redeliver the same delivery twice.</summary>
public sealed partial class DeliveryRecoveryGrain(
    IServiceProvider services,
    IOptions<DeliveryRecoveryOptions> options,
    ILogger<DeliveryRecoveryGrain> logger) : Grain, IDeliveryRecoveryGrain, IRemindable
{
    private const string Reminder = "redeliver";

    public async Task Start()
    {
        if (services.GetService<ILostDeliveryRecovery>() is null)
        {
            return;
        }

        if (await this.GetReminder(Reminder) is null)
        {
            await this.RegisterOrUpdateReminder(Reminder, options.Value.Period, options.Value.Period);
        }
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (services.GetService<ILostDeliveryRecovery>() is not { } recovery)
        {
            // GitHub is simulated now: nothing to recover, and the reminder should not outlive the App mode.
            if (await this.GetReminder(Reminder) is { } reminder)
            {
                await this.UnregisterReminder(reminder);
            }

            return;
        }

        using var timeout = new CancellationTokenSource(options.Value.Period);
        try
        {
            LogPass(logger, await recovery.RecoverLostDeliveriesAsync(timeout.Token));
        }
        catch (Exception ex)
        {
            // The next tick tries again; GitHub keeps failed deliveries for days.
            LogFailed(logger, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Lost-delivery recovery: {Summary}")]
    private static partial void LogPass(ILogger logger, string summary);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost-delivery recovery failed and will run again: {Error}")]
    private static partial void LogFailed(ILogger logger, string error);
}

/// <summary>Configuration section <c>GitHub:Redelivery</c>.</summary>
public sealed class DeliveryRecoveryOptions
{
    public const string Section = "GitHub:Redelivery";

    /// <summary>How often failed deliveries are looked for; well inside GitHub's three-day window.</summary>
    [SettingRange(typeof(TimeSpan), "00:00:01", ErrorMessage = "use at least 00:00:01 (one second); GitHub keeps failed deliveries for three days")]
    public TimeSpan Period { get; set; } = TimeSpan.FromMinutes(5);
}
