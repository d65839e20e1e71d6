using System.Text;
using Builtiful.Organisations;
using Builtiful.Silo.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Serialization;

namespace Builtiful.Silo.Tests;

/// <summary>
/// On PostgreSQL an organisation's slots and waiting line are stored as page records beside its own record: each sealed
/// like every other state (ciphertext bound to the organisation and the page's name), and read back whole after the whole
/// cluster restarts.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class OrganisationPagesOnPostgresTests(PostgresServer postgres)
{
    private const int Slots = 70;
    private const int Waiting = 70;

    private static readonly Serializer Serializer = new ServiceCollection()
        .AddSerializer(s => s.AddAssembly(typeof(SealedState).Assembly).AddAssembly(typeof(OrganisationPage).Assembly))
        .BuildServiceProvider()
        .GetRequiredService<Serializer>();

    [Fact]
    public async Task Slot_and_line_pages_are_sealed_at_rest_and_a_whole_cluster_restart_reads_them_back_whole()
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres);
        var settings = cluster.Settings();
        settings["Organisations:MaxConcurrentVms"] = Slots.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var before = await cluster.StartSiloAsync(settings);
        var installationId = await PostgresCluster.InstallAsync(before);
        var jobs = new List<long>();
        for (var i = 0; i < Slots + Waiting; i++)
        {
            jobs.Add(await cluster.QueueAsync(before, installationId));
        }

        var stored = (await before.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value;
        var leaseIds = stored.GetProperty("leaseIds").EnumerateArray().Select(l => Guid.Parse(l.GetString()!)).ToHashSet();
        Assert.Equal(Slots, leaseIds.Count);
        Assert.Equal(jobs.Skip(Slots), stored.GetProperty("waitingJobIds").EnumerateArray().Select(j => j.GetInt64()));
        await Eventually.Until(
            () => Task.FromResult(cluster.Cloud.Vms.Count(v => leaseIds.Contains(v.LeaseId))),
            n => n == Slots,
            "every slot's VM is launched");

        // The pages are sealed records of the organisation: bound to its grain and the page's name, with no repository
        // name (on every slot and waiting job) in the clear. Slot page 0 is kept in the organisation's own record, which is
        // sealed the same way; slot page 1 and the line's two pages are page records. Together they hold every slot and job.
        var organisation = before.App.Services.GetRequiredService<IGrainFactory>().GetGrain<IOrganisationGrain>(installationId).GetGrainId();
        var records = await SealedRecordsAsync(cluster.ConnectionString);
        var header = Assert.Single(records, r => r.Identity == EncryptedGrainStorage.Identity("organisation", organisation));
        var pages = records.Where(r => r.Identity.StartsWith(EncryptedGrainStorage.Identity("organisation-page-", organisation), StringComparison.Ordinal)).ToList();
        Assert.True(pages.Count >= 3, $"{pages.Count} page records for {Slots} slots and {Waiting} waiting jobs at 64 a page");
        var repository = Encoding.UTF8.GetBytes($"org-{installationId}/app");
        Assert.All(pages.Append(header), p => Assert.Equal(-1, p.Payload.AsSpan().IndexOf(repository)));
        var cipher = new GrainStateCipher(Options.Create(new StorageEncryptionOptions { EncryptionKeys = [new EncryptionKey { Id = "one", Key = PostgresCluster.KeyOne }] }));
        var opened = pages.Select(p => Open<OrganisationPage>(cipher, p)).ToList();
        var directory = Open<OrganisationState>(cipher, header).Pages;
        Assert.Contains(opened, p => p.Slots.Count > 0);
        Assert.Subset(opened.SelectMany(p => p.Slots.Keys).Concat(directory.FirstSlots.Keys).ToHashSet(), leaseIds);
        Assert.Subset(opened.SelectMany(p => p.Jobs).Select(j => j.JobId).ToHashSet(), jobs.Skip(Slots).ToHashSet());
        Assert.Equal(2, directory.LinePages.Count);

        await cluster.StopAsync(before);
        var after = await cluster.StartSiloAsync(settings);

        var read = (await after.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value;
        Assert.Equal(leaseIds.Order(), read.GetProperty("leaseIds").EnumerateArray().Select(l => Guid.Parse(l.GetString()!)).Order());
        Assert.Equal(jobs.Skip(Slots), read.GetProperty("waitingJobIds").EnumerateArray().Select(j => j.GetInt64()));
        Assert.All(cluster.Cloud.Vms.Where(v => v.Tags.TryGetValue(Providers.InstanceTags.Installation, out var tag) && tag == installationId.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            vm => Assert.Contains(vm.LeaseId, leaseIds));

        // Read back, the line still moves: a job cancelled while its VM boots hands that VM to the head of the line.
        using (var cancelled = await after.DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.completed.1.json", jobs[0], installationId, repository: $"org-{installationId}/app")))
        {
            cancelled.EnsureSuccessStatusCode();
        }

        var moved = await Eventually.Until(
            async () => (await after.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value,
            o => o.GetProperty("waitingJobs").GetInt32() == Waiting - 1,
            "the head of the line takes the cancelled job's VM");
        Assert.Equal(jobs.Skip(Slots + 1), moved.GetProperty("waitingJobIds").EnumerateArray().Select(j => j.GetInt64()));
    }

    private static T Open<T>(GrainStateCipher cipher, SealedRecord record) =>
        Serializer.Deserialize<T>(cipher.Open(Serializer.Deserialize<SealedState>(record.Payload)!.Record, record.Identity))!;

    private sealed record SealedRecord(string Identity, byte[] Payload);

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
            records.Add(new SealedRecord(GrainStateCipher.Describe(Serializer.Deserialize<SealedState>(payload)!.Record).Identity, payload));
        }

        return records;
    }
}
