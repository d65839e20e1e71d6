using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Builtiful.Bench.Hosting;
using Builtiful.GitHub;
using Builtiful.Testing;

namespace Builtiful.Bench.Load;

public enum Stage
{
    Queued = 0,
    InProgress = 1,
    Completed = 2,
}

/// <summary>
/// Real <c>workflow_job</c> payloads (tests/Fixtures, recorded from GitHub) with only the job id, installation,
/// label and runner name changed, signed per delivery the way GitHub signs them. The templates are cut at those
/// fields once, so making a delivery costs a concatenation and an HMAC, not a JSON rewrite.
/// </summary>
public sealed class Deliveries
{
    public const string Label = "builtiful-2vcpu-ubuntu-2404";
    private const long JobMarker = 8_888_888_888_888_801;
    private const long InstallationMarker = 7_777_777_777_777_701;
    private const string RunnerMarker = "@@bench-runner@@";

    private readonly Template[] _templates;

    public Deliveries(string secret)
    {
        Secret = secret;
        _templates =
        [
            Template.From(Payloads.Read("workflow_job.queued.5.json"), runner: false),
            Template.From(Payloads.Read("workflow_job.in_progress.0.json"), runner: true),
            Template.From(Payloads.Read("workflow_job.completed.1.json"), runner: true),
        ];
    }

    public string Secret { get; }

    /// <summary>Payload sizes in bytes, queued / in_progress / completed.</summary>
    public IReadOnlyList<int> Sizes => [.. _templates.Select(t => t.Size)];

    public byte[] Body(Stage stage, long jobId, long installationId, string? runnerName = null) =>
        _templates[(int)stage].Render(jobId, installationId, runnerName);

    public HttpRequestMessage Request(Stage stage, long jobId, long installationId, string? runnerName = null, string path = "/api/github/webhooks")
    {
        var body = Body(stage, jobId, installationId, runnerName);
        var request = new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = new ByteArrayContent(body),
            Version = System.Net.HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-GitHub-Event", "workflow_job");
        request.Headers.Add("X-GitHub-Delivery", Guid.NewGuid().ToString());
        request.Headers.Add("X-GitHub-Hook-ID", "109948940");
        request.Headers.Add("X-GitHub-Hook-Installation-Target-Type", "integration");
        request.Headers.Add("X-GitHub-Hook-Installation-Target-ID", "1024");
        request.Headers.UserAgent.ParseAdd("GitHub-Hookshot/bench");
        request.Headers.Add(WebhookSignature.Header, WebhookSignature.Sign(Secret, body));
        request.Headers.Add(BenchHost.JobHeader, jobId.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(BenchHost.StageHeader, stage switch { Stage.Queued => "queued", Stage.InProgress => "in_progress", _ => "completed" });
        return request;
    }

    public HttpRequestMessage Installation(long installationId)
    {
        var body = Encoding.UTF8.GetBytes(Payloads.Installation("installation.created.1.json", installationId));
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/github/webhooks") { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Add("X-GitHub-Event", "installation");
        request.Headers.Add("X-GitHub-Delivery", Guid.NewGuid().ToString());
        request.Headers.Add(WebhookSignature.Header, WebhookSignature.Sign(Secret, body));
        return request;
    }

    private sealed class Template
    {
        private readonly string[] _parts;
        private readonly char[] _holes;

        private Template(string[] parts, char[] holes, int size)
        {
            _parts = parts;
            _holes = holes;
            Size = size;
        }

        public int Size { get; }

        public static Template From(string fixture, bool runner)
        {
            var root = JsonNode.Parse(fixture)!.AsObject();
            var job = root["workflow_job"]!.AsObject();
            job["id"] = JobMarker;
            job["labels"] = new JsonArray(JsonValue.Create(Label));
            job["runner_name"] = runner ? RunnerMarker : null;
            root["installation"] = new JsonObject { ["id"] = InstallationMarker, ["node_id"] = "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u" };
            if (root["repository"] is JsonObject repository)
            {
                // The recorded examples are public repositories, which organisations refuse unless they opt in.
                repository["private"] = true;
                repository["visibility"] = "private";
            }

            var text = root.ToJsonString();

            var markers = new List<(int At, string Marker, char Hole)>
            {
                (text.IndexOf(JobMarker.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal), JobMarker.ToString(CultureInfo.InvariantCulture), 'j'),
                (text.IndexOf(InstallationMarker.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal), InstallationMarker.ToString(CultureInfo.InvariantCulture), 'i'),
            };
            if (runner)
            {
                markers.Add((text.IndexOf(RunnerMarker, StringComparison.Ordinal), RunnerMarker, 'r'));
            }

            if (markers.Any(m => m.At < 0 || text.IndexOf(m.Marker, m.At + 1, StringComparison.Ordinal) >= 0))
            {
                throw new InvalidOperationException("A payload template's marker is missing or appears twice.");
            }

            markers.Sort((a, b) => a.At.CompareTo(b.At));
            var parts = new List<string>();
            var from = 0;
            foreach (var (at, marker, _) in markers)
            {
                parts.Add(text[from..at]);
                from = at + marker.Length;
            }

            parts.Add(text[from..]);
            return new Template([.. parts], [.. markers.Select(m => m.Hole)], Encoding.UTF8.GetByteCount(text));
        }

        public byte[] Render(long jobId, long installationId, string? runnerName)
        {
            var text = new StringBuilder(Size + 64);
            for (var i = 0; i < _holes.Length; i++)
            {
                text.Append(_parts[i]);
                switch (_holes[i])
                {
                    case 'j':
                        text.Append(jobId);
                        break;
                    case 'i':
                        text.Append(installationId);
                        break;
                    default:
                        text.Append(runnerName ?? throw new ArgumentNullException(nameof(runnerName)));
                        break;
                }
            }

            text.Append(_parts[^1]);
            return Encoding.UTF8.GetBytes(text.ToString());
        }
    }
}
