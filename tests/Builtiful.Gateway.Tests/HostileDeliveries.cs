using System.Text;
using System.Text.Json.Nodes;
using Builtiful.GitHub;
using Builtiful.Testing;

namespace Builtiful.Gateway.Tests;

/// <summary>How a hostile delivery is signed.</summary>
public enum Signing
{
    None,
    Valid,
    WrongSecret,
    Custom,
}

/// <summary>
/// One hostile input for the webhook endpoint. <see cref="JobIds"/> and <see cref="InstallationIds"/> are the fresh ids
/// it was built with: when it is refused, none of them may exist afterwards.
/// </summary>
public sealed record HostileDelivery(string Category, string Description)
{
    public string Method { get; init; } = "POST";
    public string? Event { get; init; } = "workflow_job";
    public byte[] Body { get; init; } = [];
    public Signing Signing { get; init; } = Signing.Valid;
    public string? Signature { get; init; }
    public string? ContentType { get; init; } = "application/json";
    public string? DeliveryId { get; init; }
    public IReadOnlyList<(string Name, string Value)> ExtraHeaders { get; init; } = [];
    public bool Chunked { get; init; }

    /// <summary>Bytes sent as they are over a raw socket, for what HttpClient refuses to send (header injection, smuggling).</summary>
    public byte[]? Raw { get; init; }

    public IReadOnlyList<long> JobIds { get; init; } = [];
    public IReadOnlyList<long> InstallationIds { get; init; } = [];

    public override string ToString() => $"{Category}: {Description} (event {Event ?? "none"}, {Body.Length} bytes, {Signing}, content type {ContentType ?? "none"})";
}

/// <summary>
/// A deterministic generator of hostile webhook deliveries: random bytes, mutated real payloads, wrong types, missing
/// fields, truncation, deep nesting, huge bodies, forged installations, bad signatures, wrong content types and methods,
/// and raw requests with injected or smuggled headers.
/// </summary>
public sealed class HostileDeliveries(int seed, string secret, int maxBytes)
{
    private static readonly string[] Events = ["workflow_job", "installation", "installation_repositories", "ping"];

    private static readonly string[] Fixtures = [.. Payloads.All()
        .Where(f => f.Split('.')[0] is "workflow_job" or "installation" or "installation_repositories" or "ping")
        .Order(StringComparer.Ordinal)];

    private readonly Random _random = new(seed);

    public IEnumerable<HostileDelivery> Generate()
    {
        for (var i = 0; i < 150; i++)
        {
            yield return RandomBytes(i);
        }

        for (var i = 0; i < 450; i++)
        {
            yield return MutatedPayload(i);
        }

        for (var i = 0; i < 100; i++)
        {
            yield return Truncated(i);
        }

        for (var i = 0; i < 100; i++)
        {
            yield return FlippedBytes(i);
        }

        foreach (var delivery in WrongTopLevelTypes())
        {
            yield return delivery;
        }

        foreach (var delivery in DeepNesting())
        {
            yield return delivery;
        }

        foreach (var delivery in Huge())
        {
            yield return delivery;
        }

        for (var i = 0; i < 50; i++)
        {
            yield return ForgedInstallation(i);
        }

        for (var i = 0; i < 60; i++)
        {
            yield return WrongContentType(i);
        }

        for (var i = 0; i < 60; i++)
        {
            yield return SignatureAttack(i);
        }

        foreach (var delivery in HeaderAttacks())
        {
            yield return delivery;
        }

        foreach (var method in new[] { "GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS" })
        {
            yield return new HostileDelivery("method", method) { Method = method, Body = method is "GET" or "HEAD" or "DELETE" or "OPTIONS" ? [] : Encoding.UTF8.GetBytes("{}") };
        }
    }

    /// <summary>A real queued job for our label, with fresh ids.</summary>
    public (byte[] Body, long JobId, long InstallationId) ValidJob(long? installationId = null, string? repository = null)
    {
        var jobId = NewId();
        var installation = installationId ?? NewId();
        return (Encoding.UTF8.GetBytes(Payloads.WorkflowJob("workflow_job.queued.5.json", jobId, installation, repository: repository)), jobId, installation);
    }

    public long NewId() => _random.NextInt64(1_000_000_000, long.MaxValue);

    private HostileDelivery RandomBytes(int i)
    {
        var body = new byte[_random.Next(0, 4096)];
        _random.NextBytes(body);
        return new HostileDelivery("random-bytes", $"#{i}")
        {
            Event = Pick(Events.Append(RandomToken(_random.Next(1, 40))).ToArray()),
            Body = body,
            Signing = _random.Next(3) == 0 ? Signing.None : Signing.Valid,
            ContentType = Pick<string?>(["application/json", "application/octet-stream", null, "text/plain"]),
        };
    }

    private HostileDelivery MutatedPayload(int i)
    {
        var (fixture, root, jobIds, installationIds) = RealPayload();
        var mutations = new List<string>();
        for (var m = _random.Next(1, 4); m > 0; m--)
        {
            mutations.Add(Mutate(root));
        }

        var signing = i % 9 == 0 ? Signing.None : i % 9 == 1 ? Signing.WrongSecret : Signing.Valid;
        return new HostileDelivery("mutated", $"{fixture}: {string.Join("; ", mutations)}")
        {
            Event = fixture.Split('.')[0],
            Body = Encoding.UTF8.GetBytes(root.ToJsonString()),
            Signing = signing,
            JobIds = jobIds,
            InstallationIds = installationIds,
        };
    }

    private HostileDelivery Truncated(int i)
    {
        var (fixture, root, jobIds, installationIds) = RealPayload();
        var text = Encoding.UTF8.GetBytes(root.ToJsonString());
        var cut = _random.Next(0, text.Length - 1);
        return new HostileDelivery("truncated", $"{fixture} cut at {cut} of {text.Length}")
        {
            Event = fixture.Split('.')[0],
            Body = text[..cut],
            JobIds = jobIds,
            InstallationIds = installationIds,
        };
    }

    private HostileDelivery FlippedBytes(int i)
    {
        var (fixture, root, jobIds, installationIds) = RealPayload();
        var body = Encoding.UTF8.GetBytes(root.ToJsonString());
        var flips = _random.Next(1, 8);
        for (var f = 0; f < flips; f++)
        {
            body[_random.Next(body.Length)] = (byte)_random.Next(256);
        }

        return new HostileDelivery("flipped-bytes", $"{fixture} with {flips} bytes changed")
        {
            Event = fixture.Split('.')[0],
            Body = body,
            JobIds = jobIds,
            InstallationIds = installationIds,
        };
    }

    private static IEnumerable<HostileDelivery> WrongTopLevelTypes()
    {
        string[] bodies = ["null", "0", "-1", "1e400", "true", "\"workflow_job\"", "[]", "[null]", "[{}]", "{}", "{\"action\":null}",
            "{\"action\":\"queued\"}", "{\"action\":\"queued\",\"workflow_job\":null}", "{\"action\":\"queued\",\"workflow_job\":[]}",
            "{\"action\":\"queued\",\"workflow_job\":\"job\"}", "{\"action\":[\"queued\"],\"workflow_job\":{}}", "{\"action\":\"queued\",\"workflow_job\":{}}",
            "{\"action\":\"queued\",\"workflow_job\":{\"id\":\"1\",\"labels\":[\"builtiful-2vcpu-ubuntu-2404\"]}}",
            "{\"action\":\"queued\",\"workflow_job\":{\"id\":1,\"labels\":\"builtiful-2vcpu-ubuntu-2404\"}}",
            "{\"action\":\"queued\",\"workflow_job\":{\"id\":1,\"labels\":[null]}}", "{\"action\":\"queued\",\"workflow_job\":{\"id\":1,\"labels\":[1,2]}}",
            "{\"action\":\"created\",\"installation\":null}", "{\"action\":\"created\",\"installation\":{}}", "{\"action\":\"created\",\"installation\":{\"id\":null}}",
            "{\"action\":\"added\",\"installation\":{\"id\":1},\"repositories_added\":{}}", "{\"zen\":null,\"hook\":null}", "\uFEFF{}", "{} {}", "{\"a\":1,\"a\":2}",
            "{\"action\":\"queued\",\"workflow_job\":{\"id\":1},\"action\":\"completed\"}"];
        foreach (var body in bodies)
        {
            foreach (var @event in Events)
            {
                yield return new HostileDelivery("wrong-types", body) { Event = @event, Body = Encoding.UTF8.GetBytes(body) };
            }
        }
    }

    private static IEnumerable<HostileDelivery> DeepNesting()
    {
        foreach (var depth in new[] { 65, 200, 1_000, 10_000, 50_000 })
        {
            var arrays = new string('[', depth) + new string(']', depth);
            var objects = string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);
            foreach (var @event in Events)
            {
                yield return new HostileDelivery("deep", $"{depth} nested arrays as workflow_job") { Event = @event, Body = Encoding.UTF8.GetBytes($"{{\"action\":\"queued\",\"workflow_job\":{arrays}}}") };
                yield return new HostileDelivery("deep", $"{depth} nested objects in an ignored field") { Event = @event, Body = Encoding.UTF8.GetBytes($"{{\"action\":\"created\",\"extra\":{objects}}}") };
                yield return new HostileDelivery("deep", $"{depth} nested arrays at the top") { Event = @event, Body = Encoding.UTF8.GetBytes(arrays) };
            }
        }
    }

    private IEnumerable<HostileDelivery> Huge()
    {
        foreach (var size in new[] { maxBytes - 200, maxBytes + 1, maxBytes * 4 })
        {
            var (fixture, root, jobIds, installationIds) = RealPayload("workflow_job.queued.5.json");
            root["padding"] = new string('x', Math.Max(0, size - root.ToJsonString().Length - 16));
            var body = Encoding.UTF8.GetBytes(root.ToJsonString());
            yield return new HostileDelivery("huge", $"{fixture} padded to {body.Length} bytes") { Event = "workflow_job", Body = body, JobIds = jobIds, InstallationIds = installationIds };
            yield return new HostileDelivery("huge", $"{fixture} padded to {body.Length} bytes, chunked") { Event = "workflow_job", Body = body, Chunked = true, JobIds = jobIds, InstallationIds = installationIds };
        }

        var (_, many, manyJobs, manyInstallations) = RealPayload("workflow_job.queued.5.json");
        var labels = new JsonArray();
        while (labels.ToJsonString().Length < maxBytes - 8_000)
        {
            labels.Add("builtiful-2vcpu-ubuntu-2404-" + labels.Count);
        }

        many["workflow_job"]!["labels"] = labels;
        yield return new HostileDelivery("huge", $"{labels.Count} labels") { Event = "workflow_job", Body = Encoding.UTF8.GetBytes(many.ToJsonString()), JobIds = manyJobs, InstallationIds = manyInstallations };

        var longName = new string('\u202e', (maxBytes / 3) - 2_000);
        var (_, named, namedJobs, namedInstallations) = RealPayload("workflow_job.queued.5.json");
        named["repository"]!["full_name"] = longName;
        yield return new HostileDelivery("huge", "a repository name of a third of the limit in right-to-left overrides") { Event = "workflow_job", Body = Encoding.UTF8.GetBytes(named.ToJsonString()), JobIds = namedJobs, InstallationIds = namedInstallations };
    }

    private HostileDelivery ForgedInstallation(int i)
    {
        var (body, jobId, installationId) = ValidJob();
        return new HostileDelivery("forged-installation", $"queued job {jobId} for installation {installationId}, never installed")
        {
            Body = body,
            Signing = i % 5 == 0 ? Signing.None : Signing.Valid,
            JobIds = [jobId],
            InstallationIds = [installationId],
        };
    }

    private HostileDelivery WrongContentType(int i)
    {
        var (body, jobId, installationId) = ValidJob();
        var contentType = Pick<string?>([null, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml",
            "application/jsonp", "text/json", "application/json; charset=utf-16", "application/vnd.github+json", "*/*", "application/json;;;charset=\"x\""]);
        return new HostileDelivery("content-type", contentType ?? "none") { Body = body, ContentType = contentType, JobIds = [jobId], InstallationIds = [installationId] };
    }

    private HostileDelivery SignatureAttack(int i)
    {
        var (body, jobId, installationId) = ValidJob();
        var good = WebhookSignature.Sign(secret, body);
        var signature = (i % 12) switch
        {
            0 => "sha256=",
            1 => "sha1=" + good[7..47],
            2 => good.ToUpperInvariant(),
            3 => "sha256=" + good[7..^1],
            4 => good + "00",
            5 => "sha256=" + new string('z', 64),
            6 => " " + good,
            7 => "sha256=" + new string('0', 10_000),
            8 => WebhookSignature.Sign(secret, body.AsSpan(0, body.Length - 1)),
            9 => WebhookSignature.Sign(secret + " ", body),
            10 => "sha256=" + Convert.ToHexStringLower(body.AsSpan(0, 32)),
            _ => good + ", " + good,
        };
        return new HostileDelivery("signature", $"variant {i % 12}") { Body = body, Signing = Signing.Custom, Signature = signature, JobIds = [jobId], InstallationIds = [installationId] };
    }

    private IEnumerable<HostileDelivery> HeaderAttacks()
    {
        string[] eventValues = ["workflow_job\r\nX-Injected: 1", "workflow_job\nX-GitHub-Event: installation", "workflow_job\0", "../../../../etc/passwd",
            "workflow_job, installation", new string('w', 20_000), "workflow_job\u0085", "%77orkflow_job", "WORKFLOW_JOB", " workflow_job "];
        foreach (var value in eventValues)
        {
            yield return Raw("header-injection", $"X-GitHub-Event: {Printable(value)}", signature => [("X-GitHub-Event", value), (WebhookSignature.Header, signature)]);
        }

        yield return Raw("header-injection", "two X-GitHub-Event headers", signature => [("X-GitHub-Event", "workflow_job"), ("X-GitHub-Event", "installation"), (WebhookSignature.Header, signature)]);
        yield return Raw("header-injection", "two signatures", signature => [("X-GitHub-Event", "workflow_job"), (WebhookSignature.Header, "sha256=" + new string('0', 64)), (WebhookSignature.Header, signature)]);
        yield return Raw("header-injection", "obs-fold continuation", signature => [("X-GitHub-Event", "workflow_job\r\n installation"), (WebhookSignature.Header, signature)]);
        yield return Raw("header-injection", "delivery id with CRLF", signature => [("X-GitHub-Event", "workflow_job"), ("X-GitHub-Delivery", "abc\r\nSet-Cookie: builtiful_admin=x"), (WebhookSignature.Header, signature)]);
        yield return Raw("header-injection", "delivery id with a log-forging newline", signature => [("X-GitHub-Event", "workflow_job"), ("X-GitHub-Delivery", "abc\nERROR forged line"), (WebhookSignature.Header, signature)]);
        yield return Raw("header-injection", "non-ASCII bytes in a header", signature => [("X-GitHub-Event", "workflow_job"), ("X-GitHub-Delivery", "d\u00e9livery\u00ff"), (WebhookSignature.Header, signature)]);
        yield return Raw("header-injection", "a 100 KB header", signature => [("X-GitHub-Event", "workflow_job"), ("X-Padding", new string('p', 100_000)), (WebhookSignature.Header, signature)]);

        foreach (var smuggle in Smuggling())
        {
            var (body, jobId, installationId) = ValidJob();
            var (name, request) = smuggle(body, WebhookSignature.Sign(secret, body));
            yield return new HostileDelivery("smuggling", name) { Raw = request, JobIds = [jobId], InstallationIds = [installationId] };
        }
    }

    private static IEnumerable<Func<byte[], string, (string Name, byte[] Request)>> Smuggling()
    {
        static string Head(string signature) => $"POST /api/github/webhooks HTTP/1.1\r\nHost: localhost\r\nX-GitHub-Event: workflow_job\r\n{WebhookSignature.Header}: {signature}\r\nContent-Type: application/json\r\nConnection: close\r\n";
        yield return (body, signature) => ("Content-Length and Transfer-Encoding together", Concat($"{Head(signature)}Content-Length: {body.Length}\r\nTransfer-Encoding: chunked\r\n\r\n", body));
        yield return (body, signature) => ("two different Content-Lengths", Concat($"{Head(signature)}Content-Length: {body.Length}\r\nContent-Length: 5\r\n\r\n", body));
        yield return (body, signature) => ("Content-Length shorter than the body", Concat($"{Head(signature)}Content-Length: 10\r\n\r\n", body));
        yield return (body, signature) => ("negative Content-Length", Concat($"{Head(signature)}Content-Length: -1\r\n\r\n", body));
        yield return (body, signature) => ("chunk size that is not hex", Concat($"{Head(signature)}Transfer-Encoding: chunked\r\n\r\nzz\r\n", body, "\r\n0\r\n\r\n"u8.ToArray()));
        yield return (body, signature) => ("chunk size that overflows", Concat($"{Head(signature)}Transfer-Encoding: chunked\r\n\r\nFFFFFFFF\r\n", body, "\r\n0\r\n\r\n"u8.ToArray()));
        yield return (body, signature) => ("Transfer-Encoding: identity, chunked", Concat($"{Head(signature)}Transfer-Encoding: identity, chunked\r\nContent-Length: {body.Length}\r\n\r\n", body));
        yield return (body, _) => ("HTTP/1.0 without a length", Concat("POST /api/github/webhooks HTTP/1.0\r\nX-GitHub-Event: workflow_job\r\n\r\n", body));
        yield return (body, _) => ("a request line with a space in the path", Concat($"POST /api/github/webhooks /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n", body));
        yield return (body, _) => ("a path with traversal and encoded NUL", Concat($"POST /api/github/../github/webhooks%00 HTTP/1.1\r\nHost: localhost\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n", body));
    }

    /// <summary>A raw request around a fresh valid job, with the given headers (given the body's valid signature).</summary>
    private HostileDelivery Raw(string category, string description, Func<string, IReadOnlyList<(string Name, string Value)>> headers)
    {
        var (body, jobId, installationId) = ValidJob();
        var head = new StringBuilder("POST /api/github/webhooks HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nConnection: close\r\n");
        head.Append("Content-Length: ").Append(body.Length).Append("\r\n");
        foreach (var (name, value) in headers(WebhookSignature.Sign(secret, body)))
        {
            head.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        head.Append("\r\n");
        return new HostileDelivery(category, description) { Raw = Concat(head.ToString(), body), JobIds = [jobId], InstallationIds = [installationId] };
    }

    private static byte[] Concat(string head, params byte[][] rest) => [.. Encoding.Latin1.GetBytes(head), .. rest.SelectMany(b => b)];

    private static string Printable(string value) => value.Length > 40
        ? $"{value.Length} characters"
        : string.Concat(value.Select(c => c < ' ' || c > '~' ? $"\\u{(int)c:x4}" : c.ToString()));

    /// <summary>A real payload with fresh ids (and, for jobs, our label), as a mutable tree.</summary>
    private (string Fixture, JsonObject Root, long[] JobIds, long[] InstallationIds) RealPayload(string? fixture = null)
    {
        fixture ??= Pick(Fixtures);
        var installationId = NewId();
        if (fixture.StartsWith("workflow_job.", StringComparison.Ordinal))
        {
            var jobId = NewId();
            return (fixture, JsonNode.Parse(Payloads.WorkflowJob(fixture, jobId, installationId))!.AsObject(), [jobId], [installationId]);
        }

        var root = JsonNode.Parse(Payloads.Read(fixture))!.AsObject();
        if (root["installation"] is JsonObject installation)
        {
            installation["id"] = installationId;
            return (fixture, root, [], [installationId]);
        }

        return (fixture, root, [], []);
    }

    /// <summary>One structural mutation of a random node: removed, or replaced by a hostile value of another type.</summary>
    private string Mutate(JsonObject root)
    {
        var nodes = new List<(JsonNode Parent, string? Key, int Index, string Path)>();
        Collect(root, "$", nodes);
        if (nodes.Count == 0)
        {
            return "nothing to mutate";
        }

        var (parent, key, index, path) = Pick(nodes);
        if (_random.Next(3) == 0)
        {
            if (parent is JsonObject obj)
            {
                obj.Remove(key!);
            }
            else
            {
                ((JsonArray)parent).RemoveAt(index);
            }

            return $"removed {path}";
        }

        var value = HostileValue();
        if (parent is JsonObject target)
        {
            target[key!] = value;
        }
        else
        {
            ((JsonArray)parent)[index] = value;
        }

        return $"{path} = {Printable(value?.ToJsonString() ?? "null")}";
    }

    private static void Collect(JsonNode node, string path, List<(JsonNode, string?, int, string)> nodes)
    {
        if (node is JsonObject obj)
        {
            foreach (var (name, child) in obj.ToList())
            {
                nodes.Add((obj, name, -1, $"{path}.{name}"));
                if (child is not null)
                {
                    Collect(child, $"{path}.{name}", nodes);
                }
            }
        }
        else if (node is JsonArray array)
        {
            for (var i = 0; i < array.Count; i++)
            {
                nodes.Add((array, null, i, $"{path}[{i}]"));
                if (array[i] is { } child)
                {
                    Collect(child, $"{path}[{i}]", nodes);
                }
            }
        }
    }

    private JsonNode? HostileValue() => _random.Next(18) switch
    {
        0 => null,
        1 => JsonValue.Create(true),
        2 => JsonValue.Create(0),
        3 => JsonValue.Create(-7),
        4 => JsonValue.Create(1.5),
        5 => JsonValue.Create(1e300),
        6 => JsonValue.Create(long.MinValue),
        7 => JsonValue.Create(""),
        8 => JsonValue.Create(new string('x', _random.Next(1_000, 20_000))),
        9 => JsonValue.Create(RandomText(_random.Next(1, 64))),
        10 => JsonValue.Create("2026-13-45T99:99:99Z"),
        11 => JsonValue.Create("NaN"),
        12 => new JsonObject(),
        13 => new JsonArray(),
        14 => new JsonArray(JsonValue.Create(1), null, JsonValue.Create("builtiful-2vcpu-ubuntu-2404")),
        15 => JsonValue.Create("queued"),
        16 => JsonValue.Create("\u0000\u202e<script>alert(1)</script>' OR 1=1 --"),
        _ => JsonValue.Create("builtiful-32vcpu-ubuntu-2404-arm"),
    };

    /// <summary>Printable ASCII only: what a header value can carry through HttpClient (raw requests carry the rest).</summary>
    private string RandomToken(int length) => new([.. Enumerable.Range(0, length).Select(_ => (char)_random.Next(33, 127))]);

    private string RandomText(int length)
    {
        var chars = new char[length];
        for (var i = 0; i < length; i++)
        {
            chars[i] = _random.Next(4) switch
            {
                0 => (char)_random.Next(0, 32),
                1 => (char)_random.Next(0xD800, 0xE000),
                2 => (char)_random.Next(0x80, 0x3000),
                _ => (char)_random.Next(32, 127),
            };
        }

        return new string(chars);
    }

    private T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];
}
