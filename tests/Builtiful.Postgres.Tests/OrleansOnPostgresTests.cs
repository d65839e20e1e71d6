using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Xunit.Abstractions;

namespace Builtiful.Postgres.Tests;

/// <summary>Real silos on the migrated schema: the proof that the stored queries satisfy the Orleans providers.</summary>
[Collection(PostgresCollection.Name)]
public sealed class OrleansOnPostgresTests(PostgresServer server, ITestOutputHelper output)
{
    private const string ServiceId = "builtiful-tests";
    private const int SiloStatusActive = 3;
    private const int SiloStatusDead = 6;

    [Fact]
    public async Task Grain_state_reminders_and_membership_live_in_postgres()
    {
        var database = await server.CreateDatabaseAsync("orleans_single_silo");
        await new SchemaMigrator().MigrateAsync(database, CancellationToken.None);
        const string clusterId = "single-silo";
        await using var silo = await PostgresSilo.StartAsync(database, clusterId, ServiceId, output);
        var grain = silo.Grains.GetGrain<IProbeGrain>("state-probe");

        // First write inserts version 1; a fresh activation reads it back from the table.
        var written = await grain.WriteAsync("hello");
        Assert.Equal("1", written.ETag);
        var reread = await ReadFromNewActivationAsync(grain, written.ActivationId);
        Assert.Equal("hello", reread.Value);
        Assert.True(reread.RecordExists);
        Assert.Equal("1", reread.ETag);
        var stored = Assert.Single(await Sql.RowsAsync(database, "SELECT Version, PayloadBinary FROM OrleansStorage WHERE ServiceId = @service", ("service", ServiceId)));
        Assert.Equal(1, stored["version"]);
        Assert.NotNull(stored["payloadbinary"]);

        // Later writes move the version on; clearing keeps the row (and its version) with no payload.
        Assert.Equal("2", (await grain.WriteAsync("world")).ETag);
        await grain.ClearAsync();
        var cleared = await ReadFromNewActivationAsync(grain, reread.ActivationId);
        Assert.Null(cleared.Value);
        Assert.False(cleared.RecordExists);
        Assert.Equal("3", cleared.ETag);
        stored = Assert.Single(await Sql.RowsAsync(database, "SELECT Version, PayloadBinary FROM OrleansStorage WHERE ServiceId = @service", ("service", ServiceId)));
        Assert.Equal(3, stored["version"]);
        Assert.Null(stored["payloadbinary"]);

        // A reminder is a row keyed by grain id, carrying the grain's ring hash, and it fires.
        await grain.RegisterReminderAsync("tick", TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
        var grainId = grain.GetGrainId();
        var reminder = Assert.Single(await Sql.RowsAsync(
            database, "SELECT GrainId, ReminderName, Period, GrainHash, Version FROM OrleansRemindersTable WHERE ServiceId = @service", ("service", ServiceId)));
        Assert.Equal(grainId.ToString(), reminder["grainid"]);
        Assert.Equal("tick", reminder["remindername"]);
        Assert.Equal(60_000L, reminder["period"]);
        Assert.Equal(unchecked((int)grainId.GetUniformHashCode()), reminder["grainhash"]);
        await Eventually.Until(() => Task.FromResult(ReminderTicks.Count("state-probe", "tick")), n => n >= 1, "the reminder fires", TimeSpan.FromSeconds(30));

        // Range reads follow the ring: (begin, end], wrapping past uint.MaxValue, with begin = end meaning the whole ring.
        var reminders = silo.Services.GetRequiredService<IReminderTable>();
        var hash = grainId.GetUniformHashCode();
        foreach (var (begin, end) in RangesAround(hash))
        {
            var found = (await reminders.ReadRows(begin, end, CancellationToken.None)).Reminders.Any(r => r.ReminderName == "tick");
            Assert.True(found == RingRangeContains(begin, end, hash), $"range ({begin:X8}, {end:X8}] {(found ? "wrongly includes" : "misses")} hash {hash:X8}");
        }

        Assert.True(await grain.UnregisterReminderAsync("tick"));
        Assert.Empty(await Sql.RowsAsync(database, "SELECT 1 FROM OrleansRemindersTable WHERE ServiceId = @service", ("service", ServiceId)));

        // The silo joined through the membership table and leaves it as Dead on a graceful stop.
        var member = Assert.Single(await MembersAsync(database, clusterId));
        Assert.Equal("127.0.0.1", member["address"]);
        Assert.Equal(silo.SiloPort, member["port"]);
        Assert.Equal(silo.GatewayPort, member["proxyport"]);
        Assert.Equal(SiloStatusActive, member["status"]);
        Assert.True(await Sql.ScalarAsync<int>(database, "SELECT Version FROM OrleansMembershipVersionTable WHERE DeploymentId = @cluster", ("cluster", clusterId)) >= 2);
        await silo.StopAsync();
        Assert.Equal(SiloStatusDead, Assert.Single(await MembersAsync(database, clusterId))["status"]);
    }

    [Fact]
    public async Task A_later_silo_serves_clients_found_through_the_table_and_cleans_up_the_dead_one()
    {
        var database = await server.CreateDatabaseAsync("orleans_two_silos");
        await new SchemaMigrator().MigrateAsync(database, CancellationToken.None);
        const string clusterId = "two-silos";

        await using (var first = await PostgresSilo.StartAsync(database, clusterId, ServiceId, output))
        {
            await first.Grains.GetGrain<IProbeGrain>("shared").WriteAsync("from the first silo");
            await first.StopAsync();
        }

        await using var second = await PostgresSilo.StartAsync(database, clusterId, ServiceId, output);
        var members = await MembersAsync(database, clusterId);
        Assert.Equal([SiloStatusActive, SiloStatusDead], members.Select(m => (int)m["status"]!).Order());

        // The client knows no address: it finds the live gateway through GatewaysQueryKey.
        using (var clientHost = await PostgresSilo.StartClientAsync(database, clusterId, ServiceId, output))
        {
            var client = clientHost.Services.GetRequiredService<IClusterClient>();
            var snapshot = await client.GetGrain<IProbeGrain>("shared").ReadAsync();
            Assert.Equal("from the first silo", snapshot.Value);
            await clientHost.StopAsync();
        }

        // Everything about the dead silo is older than now, so it goes; the live one stays.
        var membershipTable = second.Services.GetRequiredService<IMembershipTable>();
        await membershipTable.CleanupDefunctSiloEntriesAsync(TimeProvider.System.GetUtcNow(), CancellationToken.None);
        var remaining = Assert.Single(await MembersAsync(database, clusterId));
        Assert.Equal(SiloStatusActive, remaining["status"]);
        Assert.Equal(second.SiloPort, remaining["port"]);
    }

    private static IEnumerable<(uint Begin, uint End)> RangesAround(uint hash)
    {
        unchecked
        {
            yield return (hash - 1, hash);
            yield return (hash, hash + 1);
            yield return (hash, hash - 1);
            yield return (hash + 1, hash - 1);
            yield return (hash, hash);
            yield return (hash + 0x8000_0000, hash);
            yield return (hash, hash + 0x8000_0000);
            yield return (0x7FFF_FFFF, 0x8000_0000);
            yield return (0x8000_0000, 0x7FFF_FFFF);
            yield return (0, uint.MaxValue);
        }
    }

    private static bool RingRangeContains(uint begin, uint end, uint hash)
        => begin < end ? hash > begin && hash <= end : hash > begin || hash <= end;

    private static Task<List<Dictionary<string, object?>>> MembersAsync(string database, string clusterId)
        => Sql.RowsAsync(database, "SELECT Address, Port, ProxyPort, Status FROM OrleansMembershipTable WHERE DeploymentId = @cluster", ("cluster", clusterId));

    private static async Task<ProbeSnapshot> ReadFromNewActivationAsync(IProbeGrain grain, string previousActivationId)
    {
        await grain.DeactivateAsync();
        // A call after DeactivateOnIdle is queued for a fresh activation; polling only guards against a reply from the old one.
        return await Eventually.Until(grain.ReadAsync, s => s.ActivationId != previousActivationId, "a new activation of the grain answers", TimeSpan.FromSeconds(30));
    }
}
