using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Builtiful.Jobs;
using Builtiful.Silo.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Serialization;

namespace Builtiful.Silo.Tests;

/// <summary>The security page's promise: grain state is AES-256-GCM ciphertext bound to its grain, and it fails loudly.</summary>
[Collection(PostgresCollection.Name)]
public sealed class EncryptionAtRestTests(PostgresServer postgres)
{
    private static readonly Serializer Serializer = new ServiceCollection()
        .AddSerializer(s => s.AddAssembly(typeof(SealedState).Assembly))
        .BuildServiceProvider()
        .GetRequiredService<Serializer>();

    [Fact]
    public async Task A_dump_of_the_whole_database_holds_no_job_metadata_in_plain_text()
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres, fakeClock: false);
        var silo = await cluster.StartSiloAsync();
        var installationId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        var login = "HushOrg" + Guid.NewGuid().ToString("N")[..8];
        var installation = JsonNode.Parse(Payloads.Installation("installation.created.1.json", installationId))!;
        installation["installation"]!["account"]!["login"] = login;
        using (var installed = await silo.DeliverAsync("installation", installation.ToJsonString()))
        {
            Assert.Equal(HttpStatusCode.OK, installed.StatusCode);
        }

        var jobId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        var repository = "hush-owner/hush-repo-" + Guid.NewGuid().ToString("N")[..8];
        var branch = "hush/branch-" + Guid.NewGuid().ToString("N")[..8];
        var sha = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + "0badf00d";
        const string label = "builtiful-8vcpu-ubuntu-2204-arm";
        var queued = JsonNode.Parse(Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId, label))!;
        queued["repository"]!["full_name"] = repository;
        queued["workflow_job"]!["head_branch"] = branch;
        queued["workflow_job"]!["head_sha"] = sha;
        using (var response = await silo.DeliverAsync("workflow_job", queued.ToJsonString()))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var job = await Eventually.Until(
            async () => (await silo.AdminJsonAsync($"/api/v1/jobs/{jobId}"))!.Value,
            j => j.GetProperty("status").GetString() == "completed",
            "the job completes");
        Assert.Equal(repository, job.GetProperty("repository").GetString());
        Assert.Equal(sha, job.GetProperty("headSha").GetString());

        var dump = await DumpAsync(cluster.ConnectionString);
        Assert.Contains("OrleansStorage", dump, StringComparison.Ordinal);
        foreach (var secret in new[] { repository, branch, sha, label, login })
        {
            Assert.DoesNotContain(secret, dump, StringComparison.OrdinalIgnoreCase);
            Assert.DoesNotContain(Convert.ToHexStringLower(Encoding.UTF8.GetBytes(secret)), dump, StringComparison.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task Rotation_reseals_every_record_under_the_active_key_and_the_old_key_can_then_go()
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres);
        var silo = await cluster.StartSiloAsync();
        var installationId = await PostgresCluster.InstallAsync(silo);
        var jobId = await cluster.QueueAsync(silo, installationId);
        await cluster.StopAsync(silo);
        Assert.All(await SealedRecordsAsync(cluster.ConnectionString), r => Assert.Equal("one", r.KeyId));

        var output = new StringWriter();
        var exit = await BuiltifulCommands.RunAsync(["rotate-keys", .. Arguments(cluster.Settings("two", ("one", PostgresCluster.KeyOne), ("two", PostgresCluster.KeyTwo)))], output);
        var again = new StringWriter();
        await BuiltifulCommands.RunAsync(["rotate-keys", .. Arguments(cluster.Settings("two", ("one", PostgresCluster.KeyOne), ("two", PostgresCluster.KeyTwo)))], again);

        Assert.Equal(0, exit);
        Assert.Contains("resealed", output.ToString(), StringComparison.Ordinal);
        Assert.Contains("resealed 0 under key 'two'", again.ToString(), StringComparison.Ordinal);
        var records = await SealedRecordsAsync(cluster.ConnectionString);
        Assert.NotEmpty(records);
        Assert.All(records, r => Assert.Equal("two", r.KeyId));
        var onlyTwo = await cluster.StartSiloAsync(cluster.Settings("two", ("two", PostgresCluster.KeyTwo)));
        var job = (await onlyTwo.AdminJsonAsync($"/api/v1/jobs/{jobId}"))!.Value;
        Assert.Equal("3484a3fb816e0859fd6e1cea078d76385ff50625", job.GetProperty("headSha").GetString());
    }

    [Fact]
    public async Task A_tampered_record_fails_loudly_instead_of_reading_as_empty()
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres);
        var silo = await cluster.StartSiloAsync();
        var jobId = await cluster.QueueAsync(silo, await PostgresCluster.InstallAsync(silo));
        var identity = await JobIdentityAsync(silo, jobId);
        await cluster.StopAsync(silo);

        // One bit of the ciphertext flipped, as a disk error or an attacker with write access would.
        var original = (await SealedRecordsAsync(cluster.ConnectionString)).Single(r => r.Identity == identity).Payload;
        var sealedState = Serializer.Deserialize<SealedState>(original)!;
        sealedState.Record[^1] ^= 1;
        await ExecuteAsync(cluster.ConnectionString, "UPDATE OrleansStorage SET PayloadBinary = $1 WHERE PayloadBinary = $2",
            Serializer.SerializeToArray(sealedState), original);

        var restarted = await cluster.StartSiloAsync();
        var error = await ReadJobErrorAsync(restarted, jobId);
        Assert.Contains("cannot be decrypted", error, StringComparison.Ordinal);
        Assert.Contains("altered", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_record_under_a_key_that_is_not_configured_fails_loudly()
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres);
        var silo = await cluster.StartSiloAsync();
        var jobId = await cluster.QueueAsync(silo, await PostgresCluster.InstallAsync(silo));
        await cluster.StopAsync(silo);

        var other = await cluster.StartSiloAsync(cluster.Settings("two", ("two", PostgresCluster.KeyTwo)));

        var error = await ReadJobErrorAsync(other, jobId);
        Assert.Contains("sealed under key 'one', which is not among Storage:EncryptionKeys", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_record_copied_onto_another_grains_row_fails_to_decrypt()
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres);
        var silo = await cluster.StartSiloAsync();
        var installationId = await PostgresCluster.InstallAsync(silo);
        var victim = await cluster.QueueAsync(silo, installationId);
        var donor = await cluster.QueueAsync(silo, installationId);
        var victimIdentity = await JobIdentityAsync(silo, victim);
        var donorIdentity = await JobIdentityAsync(silo, donor);
        await cluster.StopAsync(silo);
        var records = await SealedRecordsAsync(cluster.ConnectionString);

        await ExecuteAsync(cluster.ConnectionString, "UPDATE OrleansStorage SET PayloadBinary = $1 WHERE PayloadBinary = $2",
            records.Single(r => r.Identity == donorIdentity).Payload, records.Single(r => r.Identity == victimIdentity).Payload);

        var restarted = await cluster.StartSiloAsync();
        var error = await ReadJobErrorAsync(restarted, victim);
        Assert.Contains($"sealed for '{donorIdentity}'", error, StringComparison.Ordinal);
        Assert.Equal(donor, (await restarted.AdminJsonAsync($"/api/v1/jobs/{donor}"))!.Value.GetProperty("id").GetInt64());
    }

    [Fact]
    public async Task PostgreSQL_storage_without_an_encryption_key_refuses_to_start()
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres);
        var settings = cluster.Settings();
        settings.Remove("Storage:EncryptionKeys:0:Id");
        settings.Remove("Storage:EncryptionKeys:0:Key");
        settings.Remove("Storage:ActiveKeyId");

        var refused = await Assert.ThrowsAsync<OptionsValidationException>(() => BuiltifulInstance.StartAsync(settings));

        Assert.Contains("Storage:EncryptionKeys is empty", refused.Message, StringComparison.Ordinal);
    }

    private static async Task<string> ReadJobErrorAsync(BuiltifulInstance silo, long jobId)
    {
        using var response = await silo.AdminGetAsync($"/api/v1/jobs/{jobId}");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var grains = silo.App.Services.GetRequiredService<IGrainFactory>();
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => grains.GetGrain<IJobGrain>(jobId).GetView());
        return failure.ToString();
    }

    private static async Task<string> JobIdentityAsync(BuiltifulInstance silo, long jobId) =>
        EncryptedGrainStorage.Identity("job", silo.App.Services.GetRequiredService<IGrainFactory>().GetGrain<IJobGrain>(jobId).GetGrainId());

    private static IEnumerable<string> Arguments(Dictionary<string, string> settings) => settings.Select(kv => $"--{kv.Key}={kv.Value}");

    private sealed record SealedRecord(string KeyId, string Identity, byte[] Payload);

    private static async Task<List<SealedRecord>> SealedRecordsAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT PayloadBinary FROM OrleansStorage WHERE PayloadBinary IS NOT NULL", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var records = new List<SealedRecord>();
        while (await reader.ReadAsync())
        {
            var payload = (byte[])reader[0];
            var (keyId, identity) = GrainStateCipher.Describe(Serializer.Deserialize<SealedState>(payload)!.Record);
            records.Add(new SealedRecord(keyId, identity, payload));
        }

        return records;
    }

    private static async Task ExecuteAsync(string connectionString, string sql, params object[] parameters)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters)
        {
            command.Parameters.AddWithValue(parameter);
        }

        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }

    /// <summary>Every row of every table, as text: what a database dump or a stolen disk would show.</summary>
    private static async Task<string> DumpAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var tables = new List<string>();
        await using (var list = new NpgsqlCommand("SELECT tablename FROM pg_tables WHERE schemaname = 'public'", connection))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                tables.Add(reader.GetString(0));
            }
        }

        var dump = new StringBuilder();
        foreach (var table in tables)
        {
            dump.AppendLine(table);
            await using var rows = new NpgsqlCommand($"SELECT t::text FROM \"{table}\" t", connection);
            await using var reader = await rows.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                dump.AppendLine(reader.GetString(0));
            }
        }

        return dump.ToString();
    }
}
