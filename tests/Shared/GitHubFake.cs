using System.Buffers.Text;
using System.Collections.Concurrent;
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

namespace Builtiful.Testing;

/// <summary>
/// A small, stateful stand-in for GitHub's REST API on a loopback port, answering the documented shapes. It
/// records every request, refuses requests without GitHub's required headers, verifies App JWTs with the App's
/// public key, accepts only installation tokens it issued, and keeps runners and webhook deliveries.
/// </summary>
public sealed partial class GitHubFake : IAsyncDisposable
{
    public const long AppId = 424242;

    private readonly WebApplication _app;
    private readonly RSA _appPublicKey;
    private readonly TimeProvider _clock;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly List<(string Method, Regex Path, Func<RecordedRequest, Task<FakeReply?>> Reply)> _once = [];
    private readonly ConcurrentDictionary<string, (long InstallationId, DateTimeOffset ExpiresAt)> _tokens = new();
    private readonly ConcurrentDictionary<string, long> _remaining = new();
    private readonly Lock _state = new();
    private readonly Dictionary<string, List<FakeRunner>> _runners = [];
    private readonly List<FakeDelivery> _deliveries = [];
    private int _tokenCounter;
    private long _runnerIds = 1000;

    private GitHubFake(WebApplication app, RSA appPublicKey, TimeProvider clock)
    {
        _app = app;
        _appPublicKey = appPublicKey;
        _clock = clock;
    }

    public Uri ApiUrl { get; private set; } = null!;

    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromHours(1);

    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    /// <summary>Every JIT config and installation token handed out, to prove none of them reaches a log.</summary>
    public ConcurrentBag<string> Secrets { get; } = [];

    public static async Task<GitHubFake> StartAsync(RSA appPublicKey, TimeProvider clock)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var fake = new GitHubFake(app, appPublicKey, clock);
        app.Run(fake.HandleAsync);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        fake.ApiUrl = new Uri(address);
        return fake;
    }

    public IReadOnlyList<RecordedRequest> Seen(string method, string pathPattern) =>
        [.. Requests.Where(r => r.Method == method && Regex.IsMatch(r.Path, pathPattern))];

    /// <summary>The next request matching method and path gets this reply (null: the fake's normal answer), once.</summary>
    public void Once(string method, string pathPattern, Func<RecordedRequest, Task<FakeReply?>> reply)
    {
        lock (_state)
        {
            _once.Add((method, new Regex(pathPattern), reply));
        }
    }

    public void Once(string method, string pathPattern, FakeReply reply) => Once(method, pathPattern, _ => Task.FromResult<FakeReply?>(reply));

    public FakeRunner AddRunner(string scope, string name, bool busy = false, params string[] labels)
    {
        lock (_state)
        {
            var runner = new FakeRunner(++_runnerIds, name, busy, labels.Length == 0 ? ["self-hosted"] : labels);
            Runners(scope).Add(runner);
            return runner;
        }
    }

    public IReadOnlyList<FakeRunner> RunnersIn(string scope)
    {
        lock (_state)
        {
            return [.. Runners(scope)];
        }
    }

    /// <summary>Adds a delivery; the fake lists deliveries newest first, as GitHub does.</summary>
    public FakeDelivery AddDelivery(long id, string guid, DateTimeOffset deliveredAt, int statusCode, bool redelivery = false)
    {
        lock (_state)
        {
            var delivery = new FakeDelivery(id, guid, deliveredAt, statusCode, redelivery);
            _deliveries.Add(delivery);
            return delivery;
        }
    }

    /// <summary>Every token issued so far stops working, as when GitHub revokes them.</summary>
    public void RevokeTokens() => _tokens.Clear();

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private List<FakeRunner> Runners(string scope)
    {
        if (!_runners.TryGetValue(scope, out var list))
        {
            _runners[scope] = list = [];
        }

        return list;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var request = context.Request;
        using var reader = new StreamReader(request.Body);
        var recorded = new RecordedRequest(
            request.Method,
            request.Path.Value ?? "",
            request.QueryString.Value ?? "",
            request.Headers.Authorization.ToString(),
            request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
            await reader.ReadToEndAsync(),
            _clock.GetUtcNow());
        _requests.Enqueue(recorded);

        var reply = await OnceReplyAsync(recorded) ?? Answer(recorded, request.Query);
        context.Response.StatusCode = reply.Status;
        var bucket = Bucket(recorded);
        var remaining = _remaining.AddOrUpdate(bucket, 4999, (_, left) => Math.Max(0, left - 1));
        var headers = new Dictionary<string, string>(reply.Headers ?? new Dictionary<string, string>(), StringComparer.OrdinalIgnoreCase);
        headers.TryAdd("X-RateLimit-Limit", "5000");
        headers.TryAdd("X-RateLimit-Remaining", remaining.ToString(CultureInfo.InvariantCulture));
        headers.TryAdd("X-RateLimit-Reset", (_clock.GetUtcNow() + TimeSpan.FromHours(1)).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        foreach (var (name, value) in headers)
        {
            context.Response.Headers[name] = value;
        }

        if (reply.Json is { } json)
        {
            context.Response.ContentType = "application/json; charset=utf-8";
            await context.Response.WriteAsync(json);
        }
    }

    private async Task<FakeReply?> OnceReplyAsync(RecordedRequest request)
    {
        // The oldest scripted reply that matches is used once, so tests script sequences per endpoint.
        Func<RecordedRequest, Task<FakeReply?>>? reply = null;
        lock (_state)
        {
            var index = _once.FindIndex(o => o.Method == request.Method && o.Path.IsMatch(request.Path));
            if (index >= 0)
            {
                reply = _once[index].Reply;
                _once.RemoveAt(index);
            }
        }

        return reply is null ? null : await reply(request);
    }

    private FakeReply Answer(RecordedRequest request, IQueryCollection query)
    {
        if (!request.Headers.TryGetValue("Accept", out var accept) || !accept.Contains("application/vnd.github+json", StringComparison.Ordinal)
            || !request.Headers.TryGetValue("X-GitHub-Api-Version", out var version) || version != "2022-11-28"
            || !request.Headers.TryGetValue("User-Agent", out var agent) || string.IsNullOrWhiteSpace(agent))
        {
            return FakeReply.Error(400, "Request is missing GitHub's required Accept, X-GitHub-Api-Version or User-Agent header");
        }

        var path = request.Path;
        if (path.StartsWith("/app/", StringComparison.Ordinal))
        {
            if (!JwtVerifies(request.Authorization))
            {
                return FakeReply.Error(401, "A JSON web token could not be decoded");
            }

            if (AccessTokenPath().Match(path) is { Success: true } tokenRoute && request.Method == "POST")
            {
                var installation = long.Parse(tokenRoute.Groups["id"].Value, CultureInfo.InvariantCulture);
                var token = $"ghs_fake{installation}x{Interlocked.Increment(ref _tokenCounter)}";
                var expiresAt = _clock.GetUtcNow() + TokenLifetime;
                _tokens[token] = (installation, expiresAt);
                Secrets.Add(token);
                return FakeReply.Ok(201, new { token, expires_at = expiresAt.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) });
            }

            if (path == "/app/hook/deliveries" && request.Method == "GET")
            {
                return ListDeliveries(query);
            }

            if (RedeliverPath().Match(path) is { Success: true } redeliver && request.Method == "POST")
            {
                var id = long.Parse(redeliver.Groups["id"].Value, CultureInfo.InvariantCulture);
                lock (_state)
                {
                    return _deliveries.Any(d => d.Id == id) ? FakeReply.Ok(202, new { }) : FakeReply.Error(404, "Not Found");
                }
            }

            return FakeReply.Error(404, "Not Found");
        }

        if (!TokenValid(request.Authorization))
        {
            return FakeReply.Error(401, "Bad credentials");
        }

        if (RunnersPath().Match(path) is not { Success: true } route)
        {
            return FakeReply.Error(404, "Not Found");
        }

        var scope = route.Groups["scope"].Value;
        var rest = route.Groups["rest"].Value;
        return (request.Method, rest) switch
        {
            ("POST", "/generate-jitconfig") => GenerateJitConfig(scope, request),
            ("GET", "") => ListRunners(scope, request, query),
            ("DELETE", _) when rest.Length > 1 && long.TryParse(rest[1..], CultureInfo.InvariantCulture, out var id) => DeleteRunner(scope, id),
            _ => FakeReply.Error(404, "Not Found"),
        };
    }

    private FakeReply GenerateJitConfig(string scope, RecordedRequest request)
    {
        using var body = JsonDocument.Parse(request.Body);
        var root = body.RootElement;
        if (!root.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String
            || !root.TryGetProperty("runner_group_id", out var group) || group.ValueKind != JsonValueKind.Number
            || !root.TryGetProperty("labels", out var labels) || labels.ValueKind != JsonValueKind.Array || labels.GetArrayLength() == 0
            || !root.TryGetProperty("work_folder", out var folder) || folder.ValueKind != JsonValueKind.String)
        {
            return FakeReply.Error(422, "Invalid request. name, runner_group_id, labels and work_folder are required.");
        }

        lock (_state)
        {
            var runnerName = name.GetString()!;
            if (Runners(scope).Any(r => r.Name == runnerName))
            {
                return FakeReply.Error(409, "Already exists - A runner with the name " + runnerName + " already exists.");
            }

            var runner = new FakeRunner(++_runnerIds, runnerName, false, [.. labels.EnumerateArray().Select(l => l.GetString()!)]);
            Runners(scope).Add(runner);
            var jit = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{{\"runner\":\"{runnerName}\",\"secret\":\"{Guid.NewGuid():N}\"}}"));
            Secrets.Add(jit);
            return FakeReply.Ok(201, new
            {
                runner = new { id = runner.Id, name = runner.Name, os = "unknown", status = "offline", busy = false, labels = runner.Labels.Select(l => new { id = 1, name = l, type = "custom" }) },
                encoded_jit_config = jit,
            });
        }
    }

    private FakeReply ListRunners(string scope, RecordedRequest request, IQueryCollection query)
    {
        var perPage = int.TryParse(query["per_page"], CultureInfo.InvariantCulture, out var p) ? Math.Min(p, 100) : 30;
        var page = int.TryParse(query["page"], CultureInfo.InvariantCulture, out var n) ? n : 1;
        var name = query["name"].ToString();
        List<FakeRunner> matching;
        lock (_state)
        {
            matching = [.. Runners(scope).Where(r => name.Length == 0 || r.Name == name)];
        }

        var slice = matching.Skip((page - 1) * perPage).Take(perPage).ToList();
        var headers = new Dictionary<string, string>();
        if (page * perPage < matching.Count)
        {
            var next = new Uri(ApiUrl, $"{request.Path}?per_page={perPage}&page={page + 1}{(name.Length > 0 ? "&name=" + Uri.EscapeDataString(name) : "")}");
            var last = (matching.Count + perPage - 1) / perPage;
            headers["Link"] = $"<{next}>; rel=\"next\", <{new Uri(ApiUrl, $"{request.Path}?per_page={perPage}&page={last}")}>; rel=\"last\"";
        }

        return FakeReply.Ok(200, new
        {
            total_count = matching.Count,
            runners = slice.Select(r => new { id = r.Id, name = r.Name, os = "linux", status = r.Busy ? "online" : "offline", busy = r.Busy, labels = r.Labels.Select(l => new { id = 1, name = l, type = "custom" }) }),
        }, headers);
    }

    private FakeReply DeleteRunner(string scope, long id)
    {
        lock (_state)
        {
            var runner = Runners(scope).FirstOrDefault(r => r.Id == id);
            if (runner is null)
            {
                return FakeReply.Error(404, "Not Found");
            }

            if (runner.Busy || runner.BusyOnDelete)
            {
                return FakeReply.Error(422, $"Bad request - Runner \"{runner.Name}\" is still running a job\"");
            }

            Runners(scope).Remove(runner);
            return new FakeReply(204);
        }
    }

    private FakeReply ListDeliveries(IQueryCollection query)
    {
        var perPage = int.TryParse(query["per_page"], CultureInfo.InvariantCulture, out var p) ? Math.Min(p, 100) : 30;
        var start = int.TryParse(query["cursor"].ToString().Replace("v1_", "", StringComparison.Ordinal), CultureInfo.InvariantCulture, out var c) ? c : 0;
        List<FakeDelivery> ordered;
        lock (_state)
        {
            ordered = [.. _deliveries.OrderByDescending(d => d.DeliveredAt).ThenByDescending(d => d.Id)];
        }

        var slice = ordered.Skip(start).Take(perPage).ToList();
        var headers = new Dictionary<string, string>();
        if (start + perPage < ordered.Count)
        {
            headers["Link"] = $"<{new Uri(ApiUrl, $"/app/hook/deliveries?per_page={perPage}&cursor=v1_{start + perPage}")}>; rel=\"next\"";
        }

        return FakeReply.Ok(200, slice.Select(d => new
        {
            id = d.Id,
            guid = d.Guid,
            delivered_at = d.DeliveredAt.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture),
            redelivery = d.Redelivery,
            duration = 0.27,
            status = d.StatusCode is >= 200 and < 300 ? "OK" : d.StatusCode == 0 ? "timed out" : $"Invalid HTTP Response: {d.StatusCode}",
            status_code = d.StatusCode,
            @event = "workflow_job",
            action = "queued",
            installation_id = 42,
            repository_id = 7,
        }), headers);
    }

    private string Bucket(RecordedRequest request)
    {
        if (request.Path.StartsWith("/app/", StringComparison.Ordinal))
        {
            return "app";
        }

        var token = request.Authorization.StartsWith("Bearer ", StringComparison.Ordinal) ? request.Authorization[7..] : "";
        return _tokens.TryGetValue(token, out var issued) ? issued.InstallationId.ToString(CultureInfo.InvariantCulture) : "anonymous";
    }

    private bool TokenValid(string authorization) =>
        authorization.StartsWith("Bearer ", StringComparison.Ordinal)
        && _tokens.TryGetValue(authorization[7..], out var issued)
        && issued.ExpiresAt > _clock.GetUtcNow();

    private bool JwtVerifies(string authorization)
    {
        if (!authorization.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            return false;
        }

        var jwt = AppJwt.Parse(authorization[7..], _appPublicKey);
        var now = _clock.GetUtcNow().ToUnixTimeSeconds();
        return jwt is { SignatureValid: true, Algorithm: "RS256", Issuer: AppId }
            && jwt.IssuedAt <= now && jwt.ExpiresAt > now && jwt.ExpiresAt - now <= 600;
    }

    [GeneratedRegex("^/app/installations/(?<id>[0-9]+)/access_tokens$")]
    private static partial Regex AccessTokenPath();

    [GeneratedRegex("^/app/hook/deliveries/(?<id>[0-9]+)/attempts$")]
    private static partial Regex RedeliverPath();

    [GeneratedRegex("^/(?<scope>orgs/[^/]+|repos/[^/]+/[^/]+)/actions/runners(?<rest>/.*)?$")]
    private static partial Regex RunnersPath();
}

public sealed record RecordedRequest(
    string Method,
    string Path,
    string Query,
    string Authorization,
    IReadOnlyDictionary<string, string> Headers,
    string Body,
    DateTimeOffset ReceivedAt)
{
    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    public string Bearer => Authorization.StartsWith("Bearer ", StringComparison.Ordinal) ? Authorization[7..] : "";
}

public sealed record FakeReply(int Status, string? Json = null, IReadOnlyDictionary<string, string>? Headers = null)
{
    public static FakeReply Ok(int status, object body, IReadOnlyDictionary<string, string>? headers = null) =>
        new(status, JsonSerializer.Serialize(body), headers);

    public static FakeReply Error(int status, string message, IReadOnlyDictionary<string, string>? headers = null) =>
        new(status, JsonSerializer.Serialize(new { message, documentation_url = "https://docs.github.com/rest" }), headers);
}

public sealed class FakeRunner(long id, string name, bool busy, IReadOnlyList<string> labels)
{
    public long Id { get; } = id;

    public string Name { get; } = name;

    public bool Busy { get; set; } = busy;

    /// <summary>Listed idle, but took a job before the delete arrived.</summary>
    public bool BusyOnDelete { get; set; }

    public IReadOnlyList<string> Labels { get; } = labels;
}

public sealed record FakeDelivery(long Id, string Guid, DateTimeOffset DeliveredAt, int StatusCode, bool Redelivery);

/// <summary>A decoded App JWT, checked the way GitHub checks it.</summary>
public sealed record AppJwt(string Algorithm, string? Type, long? Issuer, long IssuedAt, long ExpiresAt, bool SignatureValid)
{
    public static AppJwt? Parse(string token, RSA publicKey)
    {
        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            return null;
        }

        try
        {
            using var header = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[0]));
            using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(parts[1]));
            var valid = publicKey.VerifyData(
                Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]),
                Base64Url.DecodeFromChars(parts[2]),
                HashAlgorithmName.SHA256,
                RSASignaturePadding.Pkcs1);
            var claims = payload.RootElement;
            return new AppJwt(
                header.RootElement.GetProperty("alg").GetString()!,
                header.RootElement.TryGetProperty("typ", out var typ) ? typ.GetString() : null,
                claims.TryGetProperty("iss", out var iss) ? ReadIssuer(iss) : null,
                claims.GetProperty("iat").GetInt64(),
                claims.GetProperty("exp").GetInt64(),
                valid);
        }
        catch (Exception ex) when (ex is FormatException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>GitHub takes the App id as a number or as a string.</summary>
    private static long? ReadIssuer(JsonElement iss) => iss.ValueKind switch
    {
        JsonValueKind.Number => iss.GetInt64(),
        JsonValueKind.String when long.TryParse(iss.GetString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id) => id,
        _ => null,
    };
}
