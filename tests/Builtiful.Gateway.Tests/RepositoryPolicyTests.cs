using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Builtiful.Gateway.Admin;
using Builtiful.Gateway.Audit;
using Builtiful.Gateway.Webhooks;
using Builtiful.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Gateway.Tests;

/// <summary>
/// The repository policy end to end: real signed deliveries of the recorded payloads, an operator setting the policy
/// through the admin API, and the organisation grain deciding which jobs get a VM.
/// </summary>
public sealed class RepositoryPolicyTests(RepositoryPolicyTests.Host builtiful) : IClassFixture<RepositoryPolicyTests.Host>, IDisposable
{
    private const string AliceToken = OperatorAccessTests.AliceToken;
    private const string BobToken = OperatorAccessTests.BobToken;

    private readonly RefusalCounter _refused = new(builtiful.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());

    public sealed class Host : RunningBuiltiful
    {
        protected override IReadOnlyDictionary<string, string> Settings => new Dictionary<string, string>
        {
            ["Admin:Token"] = "",
            ["Admin:Tokens:0:Name"] = "alice",
            ["Admin:Tokens:0:Sha256"] = OperatorDirectory.Digest(AliceToken),
            ["Admin:Tokens:0:Role"] = OperatorRoles.Operator,
            ["Admin:Tokens:1:Name"] = "bob",
            ["Admin:Tokens:1:Sha256"] = OperatorDirectory.Digest(BobToken),
            ["Admin:Tokens:1:Role"] = OperatorRoles.ReadOnly,
        };
    }

    public void Dispose() => _refused.Dispose();

    [Fact]
    public async Task A_public_repository_job_gets_no_VM_until_the_organisation_opts_in()
    {
        var installationId = await InstallAsync();
        var refusedJob = NewId();

        // The recorded example as GitHub sent it: Codertocat/Hello-World, "private": false, "visibility": "public".
        using (var response = await builtiful.DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", refusedJob, installationId, visibility: null)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("rejected", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("outcome").GetString());
        }

        var job = await JobAsync(refusedJob);
        Assert.True(job.GetProperty("rejected").GetBoolean());
        Assert.Equal("public_repository", job.GetProperty("rejectionCode").GetString());
        Assert.Equal("public", job.GetProperty("repositoryVisibility").GetString());
        Assert.Contains("Codertocat/Hello-World is public", job.GetProperty("rejectionReason").GetString(), StringComparison.Ordinal);
        Assert.Equal(JsonValueKind.Null, job.GetProperty("leaseId").ValueKind);
        var organisation = await OrganisationAsync(installationId);
        Assert.Equal(0, organisation.GetProperty("liveLeases").GetInt32());
        Assert.Equal(0, organisation.GetProperty("waitingJobs").GetInt32());
        await _refused.ReachesAsync(RefusalReasons.PublicRepository, 1);

        using (var optIn = await PutPolicyAsync(installationId, AliceToken, new { allowPublicRepositories = true }))
        {
            Assert.Equal(HttpStatusCode.OK, optIn.StatusCode);
            Assert.True((await optIn.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("allowPublicRepositories").GetBoolean());
        }

        var admittedJob = NewId();
        using (var response = await builtiful.DeliverAsync("workflow_job", Payloads.WorkflowJob("workflow_job.queued.5.json", admittedJob, installationId, visibility: null)))
        {
            Assert.Equal("applied", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("outcome").GetString());
        }

        var admitted = await JobAsync(admittedJob);
        Assert.False(admitted.GetProperty("rejected").GetBoolean());
        Assert.Equal(JsonValueKind.Null, admitted.GetProperty("rejectionCode").ValueKind);
        var leaseId = Assert.Single((await OrganisationAsync(installationId)).GetProperty("leaseIds").EnumerateArray()).GetString();
        var lease = await Eventually.Until(() => ReadAsync($"/api/v1/leases/{leaseId}"),
            l => l.GetProperty("instanceId").ValueKind == JsonValueKind.String, "the VM is launched");
        Assert.Equal(admittedJob, lease.GetProperty("launchedForJobId").GetInt64());

        // The job refused before the opt-in stays refused: the opt-in applies to jobs that ask from now on.
        Assert.Equal("public_repository", (await JobAsync(refusedJob)).GetProperty("rejectionCode").GetString());
    }

    [Fact]
    public async Task A_repository_allow_list_admits_only_the_repositories_it_names_whatever_their_case()
    {
        var installationId = await InstallAsync();
        using (var set = await PutPolicyAsync(installationId, AliceToken, new { allowedRepositories = new[] { "octo-org/Allowed-Repo" } }))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        var allowedJob = NewId();
        var otherJob = NewId();
        await DeliverOkAsync(Payloads.WorkflowJob("workflow_job.queued.5.json", allowedJob, installationId, repository: "Octo-Org/allowed-repo"));
        await DeliverOkAsync(Payloads.WorkflowJob("workflow_job.queued.5.json", otherJob, installationId, repository: "octo-org/other-repo"));

        Assert.False((await JobAsync(allowedJob)).GetProperty("rejected").GetBoolean());
        var other = await JobAsync(otherJob);
        Assert.Equal("repository_not_allowed", other.GetProperty("rejectionCode").GetString());
        Assert.Contains("octo-org/other-repo is not on the repository allow-list", other.GetProperty("rejectionReason").GetString(), StringComparison.Ordinal);
        var organisation = await OrganisationAsync(installationId);
        var leaseId = Assert.Single(organisation.GetProperty("leaseIds").EnumerateArray()).GetString();
        Assert.Equal(allowedJob, (await ReadAsync($"/api/v1/leases/{leaseId}")).GetProperty("launchedForJobId").GetInt64());
        await _refused.ReachesAsync(RefusalReasons.RepositoryNotAllowed, 1);

        var policy = await GetPolicyAsync(installationId, BobToken);
        Assert.Equal(["octo-org/Allowed-Repo"], policy.GetProperty("allowedRepositories").EnumerateArray().Select(r => r.GetString()));
        Assert.False(policy.GetProperty("allowPublicRepositories").GetBoolean());
    }

    [Fact]
    public async Task Changing_the_policy_needs_the_operator_role_reading_it_does_not_and_every_change_is_audited()
    {
        var installationId = await InstallAsync();
        var audit = builtiful.Services.GetRequiredService<IAuditLog>();

        using var asBob = await PutPolicyAsync(installationId, BobToken, new { allowPublicRepositories = true });
        using var anonymous = await PutPolicyAsync(installationId, null, new { allowPublicRepositories = true });
        var unchanged = await GetPolicyAsync(installationId, BobToken);
        using var asAlice = await PutPolicyAsync(installationId, AliceToken, new { allowedRepositories = new[] { "octo-org/one" }, allowPublicRepositories = true });

        Assert.Equal(HttpStatusCode.Forbidden, asBob.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.False(unchanged.GetProperty("allowPublicRepositories").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, asAlice.StatusCode);
        var after = await GetPolicyAsync(installationId, BobToken);
        Assert.True(after.GetProperty("allowPublicRepositories").GetBoolean());
        Assert.Equal(["octo-org/one"], after.GetProperty("allowedRepositories").EnumerateArray().Select(r => r.GetString()));
        var attempts = audit.Recent
            .Where(e => e.Targets.GetValueOrDefault("installationId") == installationId.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .ToList();
        Assert.Equal(["bob forbidden", "anonymous unauthenticated", "alice succeeded"], attempts.Select(e => $"{e.Actor} {e.Outcome}"));
        Assert.All(attempts, e => Assert.Equal("PUT", e.Method));
        Assert.All(attempts, e => Assert.Contains("repository-policy", e.Route, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("{\"allowedRepositories\":[\"no-slash\"]}", "'no-slash' is not a repository full name")]
    [InlineData("{\"allowedRepositories\":[\"a/b/c\"]}", "'a/b/c' is not a repository full name")]
    [InlineData("{\"allowedRepositories\":[\"\"]}", "a repository name is empty")]
    [InlineData("{}", "Name allowedRepositories, allowPublicRepositories or both")]
    public async Task A_bad_policy_is_refused_with_a_clear_error_and_changes_nothing(string body, string error)
    {
        var installationId = await InstallAsync();
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/api/v1/organisations/{installationId}/repository-policy")
        {
            Content = new StringContent(body, new MediaTypeHeaderValue("application/json")),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", AliceToken);

        using var response = await builtiful.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(error, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
        var policy = await GetPolicyAsync(installationId, AliceToken);
        Assert.Equal(0, policy.GetProperty("allowedRepositories").GetArrayLength());
    }

    [Fact]
    public async Task The_policy_of_an_installation_never_seen_is_404()
    {
        using var get = await builtiful.AdminGetAsync($"/api/v1/organisations/{NewId()}/repository-policy", BobToken);
        using var put = await PutPolicyAsync(NewId(), AliceToken, new { allowPublicRepositories = true });

        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, put.StatusCode);
    }

    private async Task<long> InstallAsync()
    {
        var installationId = NewId();
        using var response = await builtiful.DeliverAsync("installation", Payloads.Installation("installation.created.1.json", installationId));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return installationId;
    }

    private async Task DeliverOkAsync(string body)
    {
        using var response = await builtiful.DeliverAsync("workflow_job", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private Task<JsonElement> JobAsync(long jobId) => ReadAsync($"/api/v1/jobs/{jobId}");

    private Task<JsonElement> OrganisationAsync(long installationId) => ReadAsync($"/api/v1/organisations/{installationId}");

    private Task<JsonElement> GetPolicyAsync(long installationId, string token) =>
        ReadAsync($"/api/v1/organisations/{installationId}/repository-policy", token);

    /// <summary>A read as the read-only operator unless told otherwise: reading needs no more.</summary>
    private async Task<JsonElement> ReadAsync(string path, string token = BobToken)
    {
        using var response = await builtiful.AdminGetAsync(path, token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private Task<HttpResponseMessage> PutPolicyAsync(long installationId, string? token, object body)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, $"/api/v1/organisations/{installationId}/repository-policy") { Content = JsonContent.Create(body) };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return builtiful.Http.SendAsync(request);
    }

    private static long NewId() => Random.Shared.NextInt64(1_000_000, long.MaxValue);
}
