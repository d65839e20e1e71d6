using System.Collections.Concurrent;
using Orleans.Storage;

namespace Builtiful.Grains.Tests;

/// <summary>Grain storage that refuses the next write of a chosen state or grain, as a database that failed the transaction.</summary>
public sealed class RefusingStorage(IGrainStorage inner, RefusingStorage.Refusals refusals) : IGrainStorage
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ReadStateAsync(stateName, grainId, grainState);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        refusals.Take(stateName) || refusals.Take(grainId.ToString())
            ? throw new InvalidOperationException($"Storage refused the write of state '{stateName}' of {grainId} (test).")
            : inner.WriteStateAsync(stateName, grainId, grainState);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ClearStateAsync(stateName, grainId, grainState);

    public sealed class Refusals
    {
        private readonly ConcurrentDictionary<string, int> _pending = new(StringComparer.Ordinal);

        public void RefuseNext(string stateName) => _pending.AddOrUpdate(stateName, 1, (_, n) => n + 1);

        /// <summary>Refuses the next write of this one grain's state, whatever other grains write meanwhile.</summary>
        public void RefuseNext(GrainId grainId) => RefuseNext(grainId.ToString());

        internal bool Take(string stateName)
        {
            while (_pending.TryGetValue(stateName, out var n) && n > 0)
            {
                if (_pending.TryUpdate(stateName, n - 1, n))
                {
                    return true;
                }
            }

            return false;
        }
    }
}
