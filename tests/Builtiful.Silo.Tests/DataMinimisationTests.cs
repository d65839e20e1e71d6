using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Builtiful.Gateway.Logging;
using Builtiful.Silo.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Serialization;
using Xunit.Abstractions;

namespace Builtiful.Silo.Tests;

/// <summary>
/// The security page's data-minimisation promise, proven: thirty jobs run the whole lifecycle in GitHub App mode on
/// PostgreSQL, so real-looking installation tokens, App JWTs and just-in-time runner configs flow; then every stored
/// record (grain state decrypted, reminders, membership, every other table) and every log line is searched for them.
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed partial class DataMinimisationTests(PostgresServer postgres, ITestOutputHelper output) : IAsyncLifetime
{
    private const int Organisations = 3;
    private const int JobsPerOrganisation = 10;

    private static readonly Serializer Serializer = new ServiceCollection()
        .AddSerializer(s => s.AddAssembly(typeof(SealedState).Assembly))
        .BuildServiceProvider()
        .GetRequiredService<Serializer>();

    private readonly RSA _appKey = RSA.Create(2048);
    private readonly string _keyPath = Path.Combine(Path.GetTempPath(), $"builtiful-dm-{Guid.NewGuid():N}.pem");
    private readonly LogCapture _logs = new();
    private GitHubFake _gitHub = null!;

    public async Task InitializeAsync()
    {
        await File.WriteAllTextAsync(_keyPath, _appKey.ExportPkcs8PrivateKeyPem());
        _gitHub = await GitHubFake.StartAsync(_appKey, TimeProvider.System);
    }

    public async Task DisposeAsync()
    {
        await _gitHub.DisposeAsync();
        File.Delete(_keyPath);
        _appKey.Dispose();
    }

    [Fact]
    public async Task Thirty_jobs_leave_no_token_JWT_runner_config_key_or_secret_in_any_stored_record_or_log_line()
    {
        await using var cluster = await PostgresCluster.CreateAsync(postgres, fakeClock: false);
        var settings = cluster.Settings();
        settings["GitHub:Mode"] = "App";
        settings["GitHub:ApiUrl"] = _gitHub.ApiUrl.ToString();
        settings["GitHub:AppId"] = GitHubFake.AppId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        settings["GitHub:PrivateKeyPath"] = _keyPath;
        settings["Organisations:MaxConcurrentVms"] = "4";
        // Everything Builtiful and the HTTP stack say, down to request headers; the rest of the stack at Information.
        settings["Logging:LogLevel:Default"] = "Information";
        settings["Logging:LogLevel:Builtiful"] = "Trace";
        settings["Logging:LogLevel:System.Net.Http"] = "Trace";
        settings["Logging:LogLevel:Orleans"] = "Information";
        settings["Logging:LogLevel:Microsoft"] = "Information";
        var silo = await BuiltifulInstance.StartAsync(settings, builder => builder.Logging.AddProvider(_logs));
        var redactions = silo.App.Services.GetRequiredService<RedactingLoggerFactory>();

        var jobs = new List<(long InstallationId, long JobId, string Repository)>();
        for (var o = 0; o < Organisations; o++)
        {
            var installationId = await InstallAsync(silo, $"dm-org-{o}-{Guid.NewGuid().ToString("N")[..6]}");
            for (var j = 0; j < JobsPerOrganisation; j++)
            {
                var jobId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
                var repository = $"dm-owner-{o}/dm-repo-{j}-{Guid.NewGuid().ToString("N")[..8]}";
                var queued = JsonNode.Parse(Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installationId))!;
                queued["repository"]!["full_name"] = repository;
                await DeliverOkAsync(silo, queued.ToJsonString());
                jobs.Add((installationId, jobId, repository));
            }
        }

        await RunEveryJobToCompletionAsync(silo, jobs);
        Assert.Equal(0, redactions.Redactions);
        await silo.StopAsync();

        var secrets = Secrets();
        Assert.Contains(secrets, s => s.Kind == "installation token");
        Assert.Equal(jobs.Count, secrets.Count(s => s.Kind == "JIT runner config"));
        Assert.Contains(secrets, s => s.Kind == "App JWT");

        var records = await StoredRecordsAsync(cluster.ConnectionString);
        var decrypted = string.Join('\n', records.Where(r => r.Source.StartsWith("grain state", StringComparison.Ordinal)).Select(r => r.Text));
        Assert.All(jobs, job => Assert.Contains(job.Repository, decrypted, StringComparison.Ordinal)); // the scan reads real contents
        Assert.Contains(records, r => r.Source.StartsWith("orleansmembershiptable", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(_logs.Lines, l => l.AllText.Contains("/access_tokens", StringComparison.Ordinal)); // the GitHub traffic was logged

        var hits = new List<string>();
        hits.AddRange(Scan(records.Select(r => (r.Source, r.Text)), secrets));
        hits.AddRange(Scan(_logs.Lines.Select(l => ($"log {l.Category} {l.Level}", l.AllText)), secrets));
        output.WriteLine($"Scanned {records.Count} stored records ({records.Count(r => r.Source.StartsWith("grain state", StringComparison.Ordinal))} decrypted grain states) " +
            $"and {_logs.Lines.Count} log lines for {secrets.Count} known secrets and 4 secret shapes: {hits.Count} hits");
        Assert.Empty(hits);
    }

    private async Task RunEveryJobToCompletionAsync(BuiltifulInstance silo, List<(long InstallationId, long JobId, string Repository)> jobs)
    {
        var started = new HashSet<Guid>();
        await Eventually.Until(async () =>
        {
            foreach (var installationId in jobs.Select(j => j.InstallationId).Distinct())
            {
                var organisation = (await silo.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value;
                foreach (var id in organisation.GetProperty("leaseIds").EnumerateArray().Select(l => l.GetGuid()))
                {
                    var lease = (await silo.AdminJsonAsync($"/api/v1/leases/{id}"))!.Value;
                    // A runner runs its job only once GitHub has issued its JIT config (a lease names its runner before it asks).
                    if (lease.GetProperty("phase").GetString() is "booting" or "idle" && lease.GetProperty("runnerName").GetString() is { } runner
                        && ConfigIssuedFor(runner) && started.Add(id))
                    {
                        // What GitHub reports once the runner on the VM takes the job and finishes it.
                        var jobId = lease.GetProperty("launchedForJobId").GetInt64();
                        await DeliverOkAsync(silo, Payloads.WorkflowJob("workflow_job.in_progress.3.json", jobId, installationId, runnerName: runner));
                        await DeliverOkAsync(silo, Payloads.WorkflowJob("workflow_job.completed.1.json", jobId, installationId, runnerName: runner));
                    }
                }
            }

            var completed = 0;
            foreach (var (_, jobId, _) in jobs)
            {
                completed += (await silo.AdminJsonAsync($"/api/v1/jobs/{jobId}"))!.Value.GetProperty("status").GetString() == "completed" ? 1 : 0;
            }

            return completed;
        }, completed => completed == jobs.Count, "every job ran on its own VM and completed", TimeSpan.FromMinutes(4));

        foreach (var installationId in jobs.Select(j => j.InstallationId).Distinct())
        {
            await Eventually.Until(
                async () => (await silo.AdminJsonAsync($"/api/v1/organisations/{installationId}"))!.Value.GetProperty("liveLeases").GetInt32(),
                live => live == 0,
                $"every VM of installation {installationId} is destroyed", TimeSpan.FromMinutes(2));
        }

        Assert.Equal(jobs.Count, started.Count);
    }

    /// <summary>Whether the fake GitHub has handed out a JIT config for this runner.</summary>
    private bool ConfigIssuedFor(string runner) => _gitHub.Secrets
        .Where(s => !IsInstallationToken(s))
        .Any(s => JitConfig(s).GetProperty("runner").GetString() == runner);

    private static bool IsInstallationToken(string handedOut) => handedOut.StartsWith("ghs_", StringComparison.Ordinal);

    /// <summary>What a JIT config the fake GitHub handed out holds (base64 JSON: the runner's name and its credential).</summary>
    private static JsonElement JitConfig(string handedOut)
    {
        using var document = JsonDocument.Parse(Convert.FromBase64String(handedOut));
        return document.RootElement.Clone();
    }

    private sealed record Secret(string Kind, string Value);

    /// <summary>Every secret that existed during the run, from the fake GitHub's side and the configuration.</summary>
    private List<Secret> Secrets()
    {
        var secrets = new List<Secret>
        {
            new("webhook secret", BuiltifulInstance.WebhookSecret),
            new("admin token", BuiltifulInstance.AdminToken),
            new("storage encryption key", PostgresCluster.KeyOne),
        };
        foreach (var handedOut in _gitHub.Secrets.Distinct())
        {
            if (IsInstallationToken(handedOut))
            {
                secrets.Add(new("installation token", handedOut));
                continue;
            }

            secrets.Add(new("JIT runner config", handedOut));
            var inner = JitConfig(handedOut);
            secrets.Add(new("JIT runner credential", inner.GetProperty("secret").GetString()!));
        }

        foreach (var jwt in _gitHub.Requests.Where(r => r.Path.StartsWith("/app/", StringComparison.Ordinal)).Select(r => r.Bearer).Distinct())
        {
            secrets.Add(new("App JWT", jwt));
            secrets.Add(new("App JWT signature", jwt[(jwt.LastIndexOf('.') + 1)..]));
        }

        var pem = _appKey.ExportPkcs8PrivateKeyPem();
        var body = string.Concat(pem.Split('\n').Where(l => !l.StartsWith("-----", StringComparison.Ordinal)));
        for (var i = 0; i + 48 <= body.Length; i += 48)
        {
            secrets.Add(new("App private key material", body.Substring(i, 48)));
        }

        secrets.Add(new("App private key (raw bytes, hex)", Convert.ToHexStringLower(_appKey.ExportRSAPrivateKey().AsSpan(0, 64))));
        return secrets;
    }

    private static IEnumerable<string> Scan(IEnumerable<(string Source, string Text)> items, List<Secret> secrets)
    {
        foreach (var (source, text) in items)
        {
            foreach (var secret in secrets.Where(s => text.Contains(s.Value, StringComparison.OrdinalIgnoreCase)))
            {
                yield return $"{secret.Kind} in {source}";
            }

            foreach (var (shape, pattern) in Shapes)
            {
                if (pattern.Match(text) is { Success: true } match)
                {
                    yield return $"{shape} '{match.Value[..Math.Min(40, match.Value.Length)]}…' in {source}";
                }
            }
        }
    }

    private static readonly (string Shape, Regex Pattern)[] Shapes =
    [
        ("JWT", Jwt()),
        ("GitHub token", GitHubToken()),
        ("private key PEM", PrivateKeyPem()),
        ("KEY=value secret", KeyValueSecret()),
    ];

    [GeneratedRegex(@"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}")]
    private static partial Regex Jwt();

    [GeneratedRegex(@"(?<![A-Za-z0-9_])(gh[pousr]_|github_pat_)[A-Za-z0-9_]{4,}")]
    private static partial Regex GitHubToken();

    [GeneratedRegex(@"-----BEGIN [A-Z ]*PRIVATE KEY-----")]
    private static partial Regex PrivateKeyPem();

    [GeneratedRegex(@"(?i)\b[A-Z0-9_]*(SECRET|TOKEN|PASSWORD|PASSWD|PRIVATE_?KEY|ACCESS_?KEY|API_?KEY|CREDENTIALS?)[A-Z0-9_]*\s*=\s*[^\s,;""'&]{6,}")]
    private static partial Regex KeyValueSecret();

    private sealed record StoredRecord(string Source, string Text);

    /// <summary>Every row of every table as text, and every grain state decrypted with the cluster's key.</summary>
    private static async Task<List<StoredRecord>> StoredRecordsAsync(string connectionString)
    {
        var cipher = new GrainStateCipher(Options.Create(new StorageEncryptionOptions
        {
            EncryptionKeys = [new EncryptionKey { Id = "one", Key = PostgresCluster.KeyOne }],
            ActiveKeyId = "one",
        }));
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

        var records = new List<StoredRecord>();
        foreach (var table in tables)
        {
            await using var rows = new NpgsqlCommand($"SELECT t::text FROM \"{table}\" t", connection);
            await using var reader = await rows.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                records.Add(new StoredRecord($"{table} row", reader.GetString(0)));
            }
        }

        await using (var states = new NpgsqlCommand("SELECT PayloadBinary FROM OrleansStorage WHERE PayloadBinary IS NOT NULL", connection))
        await using (var reader = await states.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                var sealedRecord = Serializer.Deserialize<SealedState>((byte[])reader[0])!.Record;
                var (_, identity) = GrainStateCipher.Describe(sealedRecord);
                var plaintext = cipher.Open(sealedRecord, identity);
                records.Add(new StoredRecord($"grain state {identity}", Encoding.UTF8.GetString(plaintext) + "\n" + Convert.ToHexStringLower(plaintext)));
            }
        }

        return records;
    }

    private static async Task<long> InstallAsync(BuiltifulInstance silo, string login)
    {
        var installationId = Random.Shared.NextInt64(1_000_000, long.MaxValue);
        var payload = JsonNode.Parse(Payloads.Installation("installation.created.1.json", installationId))!;
        payload["installation"]!["account"]!["login"] = login;
        payload["installation"]!["account"]!["type"] = "Organization";
        using var response = await silo.DeliverAsync("installation", payload.ToJsonString());
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return installationId;
    }

    private static async Task DeliverOkAsync(BuiltifulInstance silo, string body)
    {
        using var response = await silo.DeliverAsync("workflow_job", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }
}
