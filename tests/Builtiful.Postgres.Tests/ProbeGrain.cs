using System.Collections.Concurrent;
using Orleans.Runtime;

namespace Builtiful.Postgres.Tests;

public interface IProbeGrain : IGrainWithStringKey
{
    Task<ProbeSnapshot> WriteAsync(string value);

    Task<ProbeSnapshot> ReadAsync();

    Task ClearAsync();

    Task DeactivateAsync();

    Task RegisterReminderAsync(string name, TimeSpan dueTime, TimeSpan period);

    Task<bool> UnregisterReminderAsync(string name);
}

[GenerateSerializer]
public sealed class ProbeState
{
    [Id(0)]
    public string? Value { get; set; }
}

/// <summary>What one activation sees: its identity, and the stored state with its ETag.</summary>
[GenerateSerializer]
public sealed record ProbeSnapshot(
    [property: Id(0)] string ActivationId,
    [property: Id(1)] string? Value,
    [property: Id(2)] bool RecordExists,
    [property: Id(3)] string? ETag);

/// <summary>A grain whose state lives in the "postgres" ADO.NET storage and which can hold reminders.</summary>
public sealed class ProbeGrain(
    [PersistentState("probe", ProbeGrain.StorageName)] IPersistentState<ProbeState> state) : Grain, IProbeGrain, IRemindable
{
    public const string StorageName = "postgres";

    // Identifies this activation, so a test can tell that a deactivation really happened.
    private readonly string activationId = Guid.NewGuid().ToString("N");

    public async Task<ProbeSnapshot> WriteAsync(string value)
    {
        state.State.Value = value;
        await state.WriteStateAsync();
        return Snapshot();
    }

    public Task<ProbeSnapshot> ReadAsync() => Task.FromResult(Snapshot());

    public Task ClearAsync() => state.ClearStateAsync();

    public Task DeactivateAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }

    public Task RegisterReminderAsync(string name, TimeSpan dueTime, TimeSpan period)
        => this.RegisterOrUpdateReminder(name, dueTime, period);

    public async Task<bool> UnregisterReminderAsync(string name)
    {
        var reminder = await this.GetReminder(name);
        if (reminder is null)
        {
            return false;
        }

        await this.UnregisterReminder(reminder);
        return true;
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        ReminderTicks.Record(this.GetPrimaryKeyString(), reminderName);
        return Task.CompletedTask;
    }

    private ProbeSnapshot Snapshot() => new(activationId, state.State.Value, state.RecordExists, state.Etag);
}

/// <summary>Reminder deliveries seen in this process, by grain key and reminder name; outlives activations.</summary>
public static class ReminderTicks
{
    private static readonly ConcurrentDictionary<(string Grain, string Reminder), int> Counts = new();

    public static void Record(string grain, string reminder) => Counts.AddOrUpdate((grain, reminder), 1, (_, n) => n + 1);

    public static int Count(string grain, string reminder) => Counts.GetValueOrDefault((grain, reminder));
}
