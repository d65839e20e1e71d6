using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Builtiful.Simulation.GitHub;

/// <summary>
/// The world's REST API on its own loopback port: the App endpoints Builtiful calls (installation tokens, installation
/// lookup, generate-jitconfig at organisation and repository scope, runner list and removal, webhook deliveries and
/// redelivery), checked as GitHub checks them, plus a small "GitHub UI" under <c>/simulation/</c> for people and demos
/// (install, add repositories, queue, approve and cancel jobs, list jobs and deliveries).
/// </summary>
public sealed partial class SimulatedGitHubServer : IAsyncDisposable
{
    private const int DefaultPageSize = 30;

    private readonly WebApplication _app;
    private readonly SimulatedGitHub _world;

    private SimulatedGitHubServer(WebApplication app, SimulatedGitHub world)
    {
        _app = app;
        _world = world;
    }

    /// <summary>The REST API root to give Builtiful as <c>GitHub:ApiUrl</c>.</summary>
    public Uri ApiUrl { get; private set; } = null!;

    public static async Task<SimulatedGitHubServer> StartAsync(SimulatedGitHub world, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(world);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new SimulatedGitHubServer(app, world);
        app.Run(server.HandleAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.ApiUrl = new Uri(address.TrimEnd('/') + "/");
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context)
    {
        Reply reply;
        try
        {
            reply = await AnswerAsync(context);
        }
        catch (JsonException ex)
        {
            reply = Reply.Error(400, "Problems parsing JSON: " + ex.Message);
        }
        catch (InvalidOperationException ex)
        {
            reply = Reply.Error(422, ex.Message);
        }
        catch (ArgumentException ex)
        {
            reply = Reply.Error(422, ex.Message);
        }

        context.Response.StatusCode = reply.Status;
        context.Response.Headers["X-GitHub-Api-Version-Selected"] = "2022-11-28";
        context.Response.Headers["X-RateLimit-Limit"] = "5000";
        context.Response.Headers["X-RateLimit-Remaining"] = "4999";
        context.Response.Headers["X-RateLimit-Reset"] = (_world.Time.GetUtcNow() + TimeSpan.FromHours(1)).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        if (reply.Link is not null)
        {
            context.Response.Headers["Link"] = reply.Link;
        }

        if (reply.Json is not null)
        {
            context.Response.ContentType = "application/json; charset=utf-8";
            await context.Response.WriteAsync(reply.Json);
        }
    }

    private async Task<Reply> AnswerAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "";
        if (path.StartsWith("/simulation/", StringComparison.Ordinal))
        {
            return context.Connection.RemoteIpAddress is { } remote && System.Net.IPAddress.IsLoopback(remote)
                ? await SimulationAsync(request, path["/simulation".Length..])
                : Reply.Error(403, "The simulation UI answers loopback callers only");
        }

        if (!request.Headers.Accept.ToString().Contains("application/vnd.github+json", StringComparison.Ordinal)
            || request.Headers["X-GitHub-Api-Version"].ToString() != "2022-11-28"
            || string.IsNullOrWhiteSpace(request.Headers.UserAgent.ToString()))
        {
            return Reply.Error(400, "Request is missing GitHub's required Accept, X-GitHub-Api-Version or User-Agent header");
        }

        var bearer = Bearer(request.Headers.Authorization.ToString());
        if (path.StartsWith("/app/", StringComparison.Ordinal) || path == "/app")
        {
            return await _world.AppJwtValidAsync(bearer)
                ? App(request, path)
                : Reply.Error(401, "A JSON web token could not be decoded");
        }

        if (RunnersPath().Match(path) is not { Success: true } route)
        {
            return Reply.Error(404, "Not Found");
        }

        if (_world.TokenInstallation(bearer) is not { } installationId)
        {
            return Reply.Error(401, "Bad credentials");
        }

        var scope = route.Groups["org"].Success
            ? RunnerScopeKey.OfOrganisation(route.Groups["org"].Value)
            : RunnerScopeKey.OfRepository(route.Groups["owner"].Value + "/" + route.Groups["repo"].Value);
        if (_world.ScopeRefusal(installationId, scope) is { } refusal)
        {
            return Reply.Error(refusal.Status, refusal.Message);
        }

        var rest = route.Groups["rest"].Value;
        return (request.Method, rest) switch
        {
            ("POST", "/generate-jitconfig") => GenerateJitConfig(installationId, scope, await ReadJsonAsync(request)),
            ("GET", "") => ListRunners(installationId, scope, request),
            ("DELETE", _) when rest.Length > 1 && long.TryParse(rest[1..], CultureInfo.InvariantCulture, out var id) => DeleteRunner(installationId, scope, id),
            _ => Reply.Error(404, "Not Found"),
        };
    }

    private Reply App(HttpRequest request, string path)
    {
        if (InstallationPath().Match(path) is { Success: true } installationRoute)
        {
            var installationId = long.Parse(installationRoute.Groups["id"].Value, CultureInfo.InvariantCulture);
            var tokenRequest = installationRoute.Groups["tokens"].Success;
            if (tokenRequest && request.Method == "POST")
            {
                return _world.IssueToken(installationId) is { } issued
                    ? Reply.Ok(201, new Dictionary<string, object>
                    {
                        ["token"] = issued.Token,
                        ["expires_at"] = WebhookPayloads.Timestamp(issued.ExpiresAt),
                        ["permissions"] = new Dictionary<string, string> { ["organization_self_hosted_runners"] = "write", ["administration"] = "write" },
                        ["repository_selection"] = "all",
                    })
                    : Reply.Error(404, "Not Found");
            }

            if (!tokenRequest && request.Method == "GET")
            {
                return _world.InstallationAccount(installationId) is { } account
                    ? Reply.Ok(200, new Dictionary<string, object>
                    {
                        ["id"] = installationId,
                        ["account"] = new Dictionary<string, object> { ["login"] = account.Login, ["type"] = Kind(account.Kind) },
                        ["app_id"] = _world.AppId,
                        ["target_type"] = Kind(account.Kind),
                        ["repository_selection"] = "all",
                    })
                    : Reply.Error(404, "Not Found");
            }
        }

        if (path == "/app/hook/deliveries" && request.Method == "GET")
        {
            return ListDeliveries(request);
        }

        if (RedeliverPath().Match(path) is { Success: true } redeliver && request.Method == "POST")
        {
            return _world.Redeliver(long.Parse(redeliver.Groups["id"].Value, CultureInfo.InvariantCulture))
                ? Reply.Ok(202, new Dictionary<string, object>())
                : Reply.Error(404, "Not Found");
        }

        return Reply.Error(404, "Not Found");
    }

    private Reply GenerateJitConfig(long installationId, RunnerScopeKey scope, JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object
            || !root.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String
            || !root.TryGetProperty("runner_group_id", out var group) || !group.TryGetInt64(out var groupId)
            || !root.TryGetProperty("labels", out var labels) || labels.ValueKind != JsonValueKind.Array || labels.GetArrayLength() == 0
            || labels.EnumerateArray().Any(l => l.ValueKind != JsonValueKind.String)
            || !root.TryGetProperty("work_folder", out var folder) || folder.ValueKind != JsonValueKind.String)
        {
            return Reply.Error(422, "Invalid request. name, runner_group_id, labels and work_folder are required.");
        }

        var result = _world.Mint(installationId, scope, name.GetString()!, groupId, [.. labels.EnumerateArray().Select(l => l.GetString()!)]);
        if (result.Registration is not { } registration)
        {
            return Reply.Error(result.Status, result.Message ?? "Not Found");
        }

        return Reply.Ok(201, new Dictionary<string, object>
        {
            ["runner"] = RunnerJson(registration.Runner, online: false, busy: false),
            ["encoded_jit_config"] = registration.EncodedJitConfig,
        });
    }

    private Reply ListRunners(long installationId, RunnerScopeKey scope, HttpRequest request)
    {
        var (perPage, page) = Paging(request);
        var name = request.Query["name"].ToString();
        var matching = _world.RunnersIn(installationId, scope).Where(r => name.Length == 0 || r.Runner.Name == name).ToList();
        var slice = matching.Skip((page - 1) * perPage).Take(perPage);
        string? link = null;
        if (page * perPage < matching.Count)
        {
            var query = name.Length > 0 ? "&name=" + Uri.EscapeDataString(name) : "";
            var last = (matching.Count + perPage - 1) / perPage;
            link = $"<{new Uri(ApiUrl, $"{request.Path.Value!.TrimStart('/')}?per_page={perPage}&page={page + 1}{query}")}>; rel=\"next\", " +
                $"<{new Uri(ApiUrl, $"{request.Path.Value!.TrimStart('/')}?per_page={perPage}&page={last}{query}")}>; rel=\"last\"";
        }

        return Reply.Ok(200, new Dictionary<string, object>
        {
            ["total_count"] = matching.Count,
            ["runners"] = slice.Select(r => RunnerJson(r.Runner, r.Online, r.Busy)).ToList(),
        }, link);
    }

    private Reply DeleteRunner(long installationId, RunnerScopeKey scope, long runnerId) => _world.DeleteRunner(installationId, scope, runnerId) switch
    {
        RunnerDeletion.Removed => new Reply(204),
        RunnerDeletion.Busy => Reply.Error(422, "Bad request - Runner is still running a job"),
        _ => Reply.Error(404, "Not Found"),
    };

    private Reply ListDeliveries(HttpRequest request)
    {
        var perPage = int.TryParse(request.Query["per_page"], CultureInfo.InvariantCulture, out var p) ? Math.Clamp(p, 1, 100) : DefaultPageSize;
        var cursor = request.Query["cursor"].ToString();
        var start = cursor.StartsWith("v1_", StringComparison.Ordinal) && int.TryParse(cursor[3..], CultureInfo.InvariantCulture, out var c) ? c : 0;
        var ordered = _world.DeliveryLog().OrderByDescending(d => d.Record.DeliveredAt).ThenByDescending(d => d.Record.Id).ToList();
        string? link = null;
        if (start + perPage < ordered.Count)
        {
            link = $"<{new Uri(ApiUrl, $"app/hook/deliveries?per_page={perPage}&cursor=v1_{start + perPage}")}>; rel=\"next\"";
        }

        return Reply.Ok(200, ordered.Skip(start).Take(perPage).Select(d => new Dictionary<string, object?>
        {
            ["id"] = d.Record.Id,
            ["guid"] = d.Record.DeliveryGuid,
            ["delivered_at"] = WebhookPayloads.Timestamp(d.Record.DeliveredAt),
            ["redelivery"] = d.Record.Redelivery,
            ["duration"] = Math.Round(d.Duration.TotalSeconds, 2),
            ["status"] = DeliveryStatus(d.Record.StatusCode),
            ["status_code"] = d.Record.StatusCode,
            ["event"] = d.Record.Event,
            ["action"] = d.Record.Action,
            ["installation_id"] = d.Record.InstallationId,
            ["repository_id"] = d.RepositoryId,
            ["throttled_at"] = null,
        }).ToList(), link);
    }

    private static string DeliveryStatus(int statusCode) => statusCode switch
    {
        >= 200 and < 300 => "OK",
        0 => "timed out",
        _ => $"Invalid HTTP Response: {statusCode}",
    };

    // ---- the "GitHub UI" ----

    private async Task<Reply> SimulationAsync(HttpRequest request, string path)
    {
        switch (request.Method, path)
        {
            case ("POST", "/installations"):
            {
                var body = await ReadJsonAsync(request);
                var kind = body.TryGetProperty("type", out var type) && string.Equals(type.GetString(), "User", StringComparison.OrdinalIgnoreCase)
                    ? AccountKind.User
                    : AccountKind.Organization;
                var id = body.GetProperty("id").GetInt64();
                await _world.InstallAsync(id, body.GetProperty("login").GetString()!, kind);
                return Reply.Ok(201, new Dictionary<string, object> { ["id"] = id });
            }

            case ("POST", "/repositories"):
            {
                var body = await ReadJsonAsync(request);
                var fullName = body.GetProperty("fullName").GetString()!;
                _world.AddRepository(body.GetProperty("installationId").GetInt64(), fullName,
                    body.TryGetProperty("public", out var isPublic) && isPublic.ValueKind == JsonValueKind.True);
                return Reply.Ok(201, new Dictionary<string, object> { ["fullName"] = fullName });
            }

            case ("POST", "/jobs"):
            {
                var body = await ReadJsonAsync(request);
                var spec = new JobSpec
                {
                    Repository = body.GetProperty("repository").GetString()!,
                    Labels = [.. body.GetProperty("labels").EnumerateArray().Select(l => l.GetString()!)],
                    Environment = body.TryGetProperty("environment", out var environment) && environment.ValueKind == JsonValueKind.String ? environment.GetString() : null,
                };
                return Reply.Ok(201, new Dictionary<string, object> { ["id"] = await _world.QueueJobAsync(spec) });
            }

            case ("GET", "/jobs"):
                return Reply.Ok(200, _world.Jobs);
            case ("GET", "/deliveries"):
                return Reply.Ok(200, _world.Deliveries);
            case ("GET", "/runners"):
                return Reply.Ok(200, _world.Runners);
            default:
                break;
        }

        if (JobActionPath().Match(path) is { Success: true } action && request.Method == "POST")
        {
            var jobId = long.Parse(action.Groups["id"].Value, CultureInfo.InvariantCulture);
            if (!_world.Jobs.Any(j => j.Id == jobId))
            {
                return Reply.Error(404, $"Job {jobId} is unknown to this world");
            }

            await (action.Groups["action"].Value == "approve" ? _world.ApproveAsync(jobId) : _world.CancelAsync(jobId));
            return Reply.Ok(202, new Dictionary<string, object> { ["id"] = jobId });
        }

        return Reply.Error(404, $"No simulation endpoint {request.Method} /simulation{path}");
    }

    private static async Task<JsonElement> ReadJsonAsync(HttpRequest request)
    {
        using var document = await JsonDocument.ParseAsync(request.Body);
        return document.RootElement.Clone();
    }

    private static (int PerPage, int Page) Paging(HttpRequest request)
    {
        var perPage = int.TryParse(request.Query["per_page"], CultureInfo.InvariantCulture, out var p) ? Math.Clamp(p, 1, 100) : DefaultPageSize;
        var page = int.TryParse(request.Query["page"], CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 1;
        return (perPage, page);
    }

    private static Dictionary<string, object> RunnerJson(RunnerRecord runner, bool online, bool busy) => new()
    {
        ["id"] = runner.Id,
        ["name"] = runner.Name,
        ["os"] = "linux",
        ["status"] = online ? "online" : "offline",
        ["busy"] = busy,
        ["runner_group_id"] = runner.RunnerGroupId ?? SimulatedGitHub.DefaultRunnerGroupId,
        ["labels"] = runner.Labels.Select((l, i) => new Dictionary<string, object> { ["id"] = i + 1, ["name"] = l, ["type"] = "custom" }).ToList(),
    };

    private static string Kind(AccountKind kind) => kind == AccountKind.Organization ? "Organization" : "User";

    private static string Bearer(string authorization) =>
        authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization[7..].Trim()
        : authorization.StartsWith("token ", StringComparison.OrdinalIgnoreCase) ? authorization[6..].Trim()
        : "";

    [GeneratedRegex("^/app/installations/(?<id>[0-9]+)(?<tokens>/access_tokens)?$")]
    private static partial Regex InstallationPath();

    [GeneratedRegex("^/app/hook/deliveries/(?<id>[0-9]+)/attempts$")]
    private static partial Regex RedeliverPath();

    [GeneratedRegex("^/(?:orgs/(?<org>[^/]+)|repos/(?<owner>[^/]+)/(?<repo>[^/]+))/actions/runners(?<rest>/.*)?$")]
    private static partial Regex RunnersPath();

    [GeneratedRegex("^/jobs/(?<id>[0-9]+)/(?<action>approve|cancel)$")]
    private static partial Regex JobActionPath();

    private sealed record Reply(int Status, string? Json = null, string? Link = null)
    {
        private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web)
        {
            Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
        };

        public static Reply Ok(int status, object body, string? link = null) => new(status, JsonSerializer.Serialize(body, Web), link);

        public static Reply Error(int status, string message) => new(status, JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["message"] = message,
            ["documentation_url"] = "https://docs.github.com/rest",
        }));
    }
}

/// <summary>An App JWT checked the way GitHub checks it: RS256 by the App's key, its id as issuer, at most 10 minutes long.</summary>
internal static class AppJwt
{
    private static readonly JsonWebTokenHandler Handler = new();

    public static async Task<bool> VerifyAsync(string token, RSA key, long appId, DateTimeOffset now)
    {
        var result = await Handler.ValidateTokenAsync(token, new TokenValidationParameters
        {
            IssuerSigningKey = new RsaSecurityKey(key),
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
            ValidIssuer = appId.ToString(CultureInfo.InvariantCulture),
            ValidateAudience = false,

            // GitHub's lifetime rules are checked below on the world's clock; the handler's own check reads the system clock.
            ValidateLifetime = false,
        });
        if (!result.IsValid || result.SecurityToken is not JsonWebToken jwt)
        {
            return false;
        }

        var issuedAt = new DateTimeOffset(jwt.IssuedAt, TimeSpan.Zero).ToUnixTimeSeconds();
        var expiresAt = new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero).ToUnixTimeSeconds();
        var seconds = now.ToUnixTimeSeconds();

        // GitHub allows a little clock drift on iat, and a JWT living at most 10 minutes.
        return issuedAt <= seconds + 60 && expiresAt > seconds && expiresAt - issuedAt <= 660 && expiresAt - seconds <= 600;
    }
}
