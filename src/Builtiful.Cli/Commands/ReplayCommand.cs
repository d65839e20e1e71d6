using System.CommandLine;
using System.Net.Http.Headers;
using Builtiful.GitHub;

namespace Builtiful.Cli.Commands;

/// <summary>
/// <c>builtiful replay</c>: send payload files to the webhook endpoint exactly as GitHub would (raw bytes, HMAC-SHA256
/// signature), to redeliver what GitHub lost or to rehearse an incident.
/// </summary>
public static class ReplayCommand
{
    public const string WebhookPath = "/api/github/webhooks";

    public static Command Create(CliOptions options)
    {
        var eventName = new Argument<string>("event") { Description = "The X-GitHub-Event of the deliveries, e.g. workflow_job or installation." };
        var payloads = new Argument<FileInfo[]>("payload") { Description = "JSON payload files, sent in order.", Arity = ArgumentArity.OneOrMore };
        var command = new Command("replay", "Send payload files as signed GitHub webhook deliveries (the secret from --secret or $" + CliOptions.SecretVariable + ").")
        {
            eventName, payloads,
        };
        command.SetApiAction(options, async context =>
        {
            if (options.WebhookSecret(context.Parse) is not { } secret)
            {
                await context.Error.WriteLineAsync($"No webhook secret: pass --secret or set ${CliOptions.SecretVariable} to the secret Builtiful verifies deliveries with.");
                return ExitCodes.Usage;
            }

            var files = context.Value(payloads) ?? [];
            if (files.FirstOrDefault(f => !f.Exists) is { } missing)
            {
                await context.Error.WriteLineAsync($"No such payload file: {missing.FullName}");
                return ExitCodes.Usage;
            }

            var progress = files.Length > 1 ? Progress.Start(context.Error) : null;
            var failed = 0;
            for (var i = 0; i < files.Length; i++)
            {
                var body = await File.ReadAllBytesAsync(files[i].FullName, context.CancellationToken);
                var delivery = Guid.NewGuid().ToString();
                using var request = new HttpRequestMessage(HttpMethod.Post, WebhookPath) { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                request.Headers.Add("X-GitHub-Event", context.Value(eventName));
                request.Headers.Add("X-GitHub-Delivery", delivery);
                request.Headers.Add(WebhookSignature.Header, WebhookSignature.Sign(secret, body));
                request.Headers.UserAgent.ParseAdd("GitHub-Hookshot/builtiful-replay");
                var answer = await context.Client.SendAsync(request, context.CancellationToken);
                progress?.Report($"[{i + 1}/{files.Length}] {files[i].Name}: HTTP {answer.Status}");
                if (answer.Succeeded)
                {
                    await context.Output.WriteLineAsync($"{files[i].Name} (delivery {delivery}): {answer.Status} {answer.Body}");
                }
                else
                {
                    failed++;
                    await context.Error.WriteLineAsync($"{files[i].Name} (delivery {delivery}): {answer.Describe()}");
                }
            }

            return failed == 0 ? ExitCodes.Ok : ExitCodes.Failed;
        });
        return command;
    }
}
