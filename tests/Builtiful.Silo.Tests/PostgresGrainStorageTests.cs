using System.Net;
using System.Net.Sockets;
using Builtiful.Silo.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Configuration;
using Orleans.Serialization;
using Orleans.Storage;

namespace Builtiful.Silo.Tests;

/// <summary>
/// Builtiful's PostgreSQL grain storage keeps the rows Orleans' ADO.NET provider keeps (same table, keys, hashes,
/// versions and sealed records): each reads what the other wrote, for every kind of grain key, and a cluster moves from
/// one to the other with its state. The judge is Orleans' own provider and the table, not Builtiful's storage alone.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresGrainStorageTests(PostgresServer postgres)
{
    private static readonly string LongKey = new('k', 300);

    public static TheoryData<string, string> Keys => new()
    {
        { "integer", "probe" },
        { "integer+extension", "probe-extended" },
        { "guid", "probe" },
        { "guid+extension", "probe-page-1" },
        { "string", "probe" },
        { "long string", "probe-page-2" },
        { "non-ascii string", "probe-ü" },
    };

    [Theory]
    [MemberData(nameof(Keys))]
    public async Task Each_provider_reads_and_updates_what_the_other_wrote(string keyKind, string stateName)
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres);
        var silo = await StartOnOrleansProviderAsync(cluster);
        var orleans = silo.App.Services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Grains);
        await using var batcher = Batcher(cluster);
        var builtiful = Builtiful(silo, batcher);
        Assert.IsType<EncryptedGrainStorage>(orleans);
        var grainId = Key(keyKind);

        var written = new GrainState<List<string>>(["written by Orleans' provider", keyKind]);
        await orleans.WriteStateAsync(stateName, grainId, written);

        var read = new GrainState<List<string>>([]);
        await builtiful.ReadStateAsync(stateName, grainId, read);
        Assert.True(read.RecordExists);
        Assert.Equal(written.ETag, read.ETag);
        Assert.Equal(written.State, read.State);

        read.State = ["written by Builtiful's", keyKind];
        await builtiful.WriteStateAsync(stateName, grainId, read);
        Assert.Equal(Next(written.ETag), read.ETag);

        var back = new GrainState<List<string>>([]);
        await orleans.ReadStateAsync(stateName, grainId, back);
        Assert.Equal(read.ETag, back.ETag);
        Assert.Equal(read.State, back.State);

        // Orleans' provider moves on from the version Builtiful's wrote, and the table holds one row for the grain.
        back.State = ["written by Orleans' provider again"];
        await orleans.WriteStateAsync(stateName, grainId, back);
        await builtiful.ReadStateAsync(stateName, grainId, read);
        Assert.Equal(back.State, read.State);
        Assert.Equal("3", read.ETag);
        Assert.Equal(1L, await ScalarAsync<long>(cluster.ConnectionString, "SELECT count(*) FROM OrleansStorage WHERE GrainTypeString = $1", stateName));
    }

    [Fact]
    public async Task A_stale_or_second_first_write_changes_nothing_and_names_the_state()
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres);
        var silo = await cluster.StartSiloAsync();
        var storage = silo.App.Services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Grains);
        Assert.IsType<PostgresGrainStorage>(storage);
        var grainId = Key("integer");

        var first = new GrainState<List<string>>(["first"]);
        await storage.WriteStateAsync("probe", grainId, first);
        Assert.Equal("1", first.ETag);

        // A second activation that never saw the row tries a first write: it must not replace the first's state.
        var rival = new GrainState<List<string>>(["rival"]);
        var refused = await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("probe", grainId, rival));
        Assert.Contains("'probe'", refused.Message, StringComparison.Ordinal);
        Assert.Contains(grainId.ToString(), refused.Message, StringComparison.Ordinal);
        Assert.Null(rival.ETag);

        first.State = ["second"];
        await storage.WriteStateAsync("probe", grainId, first);
        Assert.Equal("2", first.ETag);

        var stale = new GrainState<List<string>>(["stale"]) { ETag = "1", RecordExists = true };
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync("probe", grainId, stale));
        Assert.Equal("1", stale.ETag);

        var stored = new GrainState<List<string>>([]);
        await storage.ReadStateAsync("probe", grainId, stored);
        Assert.Equal(["second"], stored.State);
        Assert.Equal("2", stored.ETag);
        Assert.Equal(2, await ScalarAsync<int>(cluster.ConnectionString, "SELECT Version FROM OrleansStorage WHERE GrainTypeString = $1", "probe"));
    }

    [Fact]
    public async Task A_clear_keeps_the_row_s_version_so_a_writer_from_before_it_still_loses()
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres);
        var silo = await StartOnOrleansProviderAsync(cluster);
        var orleans = silo.App.Services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Grains);
        await using var batcher = Batcher(cluster);
        var builtiful = Builtiful(silo, batcher);
        var grainId = Key("guid");

        // Clearing what was never stored stores nothing.
        await builtiful.ClearStateAsync("probe", grainId, new GrainState<List<string>>([]));
        Assert.Equal(0L, await ScalarAsync<long>(cluster.ConnectionString, "SELECT count(*) FROM OrleansStorage WHERE GrainTypeString = $1", "probe"));

        var state = new GrainState<List<string>>(["live"]);
        await builtiful.WriteStateAsync("probe", grainId, state);
        var before = state.ETag;
        await builtiful.ClearStateAsync("probe", grainId, state);
        Assert.False(state.RecordExists);
        Assert.Equal(Next(before), state.ETag);

        // Both providers read the cleared row alike: no record, its version as the ETag.
        foreach (var storage in new[] { builtiful, orleans })
        {
            var cleared = new GrainState<List<string>>(["untouched"]);
            await storage.ReadStateAsync("probe", grainId, cleared);
            Assert.False(cleared.RecordExists);
            Assert.Equal(state.ETag, cleared.ETag);
            Assert.Equal(["untouched"], cleared.State);
        }

        await Assert.ThrowsAsync<InconsistentStateException>(() =>
            builtiful.WriteStateAsync("probe", grainId, new GrainState<List<string>>(["from before the clear"]) { ETag = before, RecordExists = true }));

        // A clear by an activation that has read nothing reads the version first, and clears at it.
        var again = new GrainState<List<string>>(["again"]) { ETag = state.ETag };
        await builtiful.WriteStateAsync("probe", grainId, again);
        await builtiful.ClearStateAsync("probe", grainId, new GrainState<List<string>>([]));
        Assert.True(await ScalarAsync<bool>(cluster.ConnectionString, "SELECT PayloadBinary IS NULL FROM OrleansStorage WHERE GrainTypeString = $1", "probe"));
    }

    [Fact]
    public async Task An_unreachable_database_fails_the_call_and_leaves_the_grain_s_state_as_it_was()
    {
        var serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();
        var cipher = new GrainStateCipher(Options.Create(new StorageEncryptionOptions { EncryptionKeys = [new EncryptionKey { Id = "one", Key = PostgresCluster.KeyOne }] }));
        await using var nowhere = new PostgresStatementBatcher(
            $"Host=127.0.0.1;Port={ClosedPort()};Username=builtiful;Timeout=2", 2, NullLogger<PostgresStatementBatcher>.Instance);
        var storage = new PostgresGrainStorage(nowhere, "service", cipher, serializer, NullLogger<PostgresGrainStorage>.Instance);
        var state = new GrainState<List<string>>(["kept"]) { ETag = "7", RecordExists = true };

        await Assert.ThrowsAnyAsync<NpgsqlException>(() => storage.WriteStateAsync("probe", Key("integer"), state));
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => storage.ReadStateAsync("probe", Key("integer"), state));

        Assert.Equal("7", state.ETag);
        Assert.True(state.RecordExists);
        Assert.Equal(["kept"], state.State);
    }

    [Fact]
    public async Task A_cluster_moved_from_Orleans_provider_to_Builtiful_s_keeps_its_organisation_and_jobs()
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres);
        var before = await StartOnOrleansProviderAsync(cluster);
        var installationId = await PostgresCluster.InstallAsync(before);
        var jobs = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            jobs.Add(await cluster.QueueAsync(before, installationId));
        }

        var stored = (await before.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value.GetRawText();
        var storedJobs = new List<string>();
        foreach (var job in jobs)
        {
            storedJobs.Add((await before.AdminJsonAsync($"/api/v1/jobs/{job}"))!.Value.GetRawText());
        }

        await cluster.StopAsync(before);

        var after = await cluster.StartSiloAsync();
        Assert.IsType<PostgresGrainStorage>(after.App.Services.GetRequiredKeyedService<IGrainStorage>(StorageNames.Grains));
        Assert.Equal(stored, (await after.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value.GetRawText());
        for (var i = 0; i < jobs.Count; i++)
        {
            Assert.Equal(storedJobs[i], (await after.AdminJsonAsync($"/api/v1/jobs/{jobs[i]}"))!.Value.GetRawText());
        }

        // And it goes on from there: a new job is admitted into the same organisation.
        var next = await cluster.QueueAsync(after, installationId);
        await Eventually.Until(
            async () => (await after.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value.GetRawText(),
            o => o.Contains(next.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal),
            "the organisation read from the old provider's rows takes a new job");
    }

    [Theory]
    [InlineData("Cassandra")]
    [InlineData("1")]
    [InlineData("-1")]
    public async Task An_unknown_storage_provider_refuses_to_start_and_names_the_choices(string given)
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres);
        var settings = cluster.Settings();
        settings[BuiltifulServices.StorageProviderKey] = given;

        var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => BuiltifulInstance.StartAsync(settings));

        Assert.Contains($"Storage:Provider '{given}' is not a grain storage: use Builtiful or Orleans", refused.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, PostgresStorageProvider.Builtiful)]
    [InlineData(" ", PostgresStorageProvider.Builtiful)]
    [InlineData("builtiful", PostgresStorageProvider.Builtiful)]
    [InlineData(" ORLEANS ", PostgresStorageProvider.Orleans)]
    public void The_storage_provider_is_named_in_any_case_and_defaults_to_Builtiful_s(string? given, PostgresStorageProvider expected)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [BuiltifulServices.StorageProviderKey] = given })
            .Build();

        Assert.Equal(expected, BuiltifulServices.StorageProvider(configuration));
    }

    private static async Task<BuiltifulInstance> StartOnOrleansProviderAsync(PostgresCluster cluster)
    {
        var settings = cluster.Settings();
        settings[BuiltifulServices.StorageProviderKey] = "orleans";
        return await cluster.StartSiloAsync(settings);
    }

    /// <summary>Builtiful's storage beside a silo on Orleans' provider: the silo's database, service id, keys and serializer.</summary>
    private static PostgresGrainStorage Builtiful(BuiltifulInstance silo, PostgresStatementBatcher batcher) => new(
        batcher,
        silo.App.Services.GetRequiredService<IOptions<ClusterOptions>>().Value.ServiceId,
        silo.App.Services.GetRequiredService<GrainStateCipher>(),
        silo.App.Services.GetRequiredService<Serializer>(),
        NullLogger<PostgresGrainStorage>.Instance);

    private static PostgresStatementBatcher Batcher(PostgresCluster cluster) =>
        new(cluster.ConnectionString, 2, NullLogger<PostgresStatementBatcher>.Instance);

    private static GrainId Key(string kind) => kind switch
    {
        "integer" => GrainId.Create(GrainType.Create("job"), GrainIdKeyExtensions.CreateIntegerKey(4242)),
        "integer+extension" => GrainId.Create(GrainType.Create("job"), GrainIdKeyExtensions.CreateIntegerKey(-4242, "slot/1")),
        "guid" => GrainId.Create(GrainType.Create("lease"), GrainIdKeyExtensions.CreateGuidKey(Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e"))),
        "guid+extension" => GrainId.Create(GrainType.Create("lease"), GrainIdKeyExtensions.CreateGuidKey(Guid.Parse("7c9e6679-7425-40de-944b-e07fc1f90ae7"), "pool-b")),
        "string" => GrainId.Create("organisation-page", "1234567/slots/1"),
        "long string" => GrainId.Create("organisation-page", LongKey),
        "non-ascii string" => GrainId.Create("retention-hour", "2026-12-07T13 · Zürich ✓"),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "no such key kind"),
    };

    private static string Next(string? etag) => (int.Parse(etag!, System.Globalization.CultureInfo.InvariantCulture) + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static async Task<T> ScalarAsync<T>(string connectionString, string sql, object parameter)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue(parameter);

        return (T)(await command.ExecuteScalarAsync())!;
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
