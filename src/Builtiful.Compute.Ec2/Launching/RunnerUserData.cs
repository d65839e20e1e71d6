using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Builtiful.Compute.Ec2.Options;
using Builtiful.Providers;

namespace Builtiful.Compute.Ec2.Launching;

/// <summary>
/// The cloud-init script a runner VM boots with. It holds no runner config: it arms the in-guest watchdog first (a
/// kill switch that needs no control plane), then claims the VM's just-in-time config from Builtiful's claim endpoint
/// with the launch's claim token and the instance identity document AWS signs for this instance (IMDSv2), hands the
/// config to the runner in its environment only, runs the runner as the unprivileged user, and powers the VM off when
/// the runner exits, when the claim is refused, or when claiming keeps failing. Shutdown means termination, because
/// instances launch with InstanceInitiatedShutdownBehavior=terminate.
/// </summary>
public static partial class RunnerUserData
{
    /// <summary>EC2 refuses user data over 16 KB, counted before base64 encoding.</summary>
    public const int MaxBytes = 16 * 1024;

    /// <summary>Claims tried before the VM gives up and powers off: with the capped backoff below, about 8 minutes, inside the default 10-minute boot deadline.</summary>
    public const int ClaimAttempts = 20;

    /// <summary>The longest pause between two claims, in seconds.</summary>
    public const int ClaimMaxDelaySeconds = 30;

    /// <summary>The environment variable the runner reads its <c>--jitconfig</c> argument from (actions/runner reads every <c>ACTIONS_RUNNER_INPUT_&lt;ARG&gt;</c> and removes it from its environment).</summary>
    public const string JitConfigVariable = "ACTIONS_RUNNER_INPUT_JITCONFIG";

    /// <summary>The script, base64-encoded for RunInstances. The same request always yields the same bytes.</summary>
    public static string Encode(LaunchRequest request, RunnerBootstrapOptions runner)
    {
        var script = Compose(request, runner);
        var bytes = Encoding.UTF8.GetBytes(script);
        if (bytes.Length > MaxBytes)
        {
            throw new Ec2LaunchException(
                $"User data for lease {request.LeaseId:N} is {bytes.Length} bytes, over EC2's {MaxBytes}-byte limit; nothing was launched.");
        }

        return Convert.ToBase64String(bytes);
    }

    public static string Compose(LaunchRequest request, RunnerBootstrapOptions runner)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(runner);
        ArgumentNullException.ThrowIfNull(request.Claim);
        var url = request.Claim.Url;
        if (!url.IsAbsoluteUri || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp) || !UrlText().IsMatch(url.AbsoluteUri))
        {
            // Only plain URL characters go inside the quotes, so configuration can never break out of them into the script.
            throw new Ec2LaunchException($"The claim URL for lease {request.LeaseId:N} is not a plain http(s) URL (Claims:Url); refusing to put it in user data.");
        }

        if (!Hex().IsMatch(request.Claim.Token))
        {
            throw new Ec2LaunchException($"The claim token for lease {request.LeaseId:N} is not hex; refusing to put it in user data.");
        }

        var pool = request.Claim.Pool;
        if (pool is not null && !PoolName().IsMatch(pool))
        {
            throw new Ec2LaunchException($"The pool name '{pool}' is not plain (letters, digits, '.', '_', '-'); refusing to put it in user data.");
        }

        // Production claims only over TLS (the silo refuses a plain http Claims:Url); http is for trials against a local gateway.
        var protocols = url.Scheme == Uri.UriSchemeHttps ? "=https" : "=http,https";
        var deadline = request.ExpiresAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var script = new StringBuilder();
        script.Append("#!/bin/bash\n");
        if (pool is null)
        {
            script.Append(CultureInfo.InvariantCulture, $"# Builtiful runner {request.RunnerName} for lease {request.LeaseId:N}: claims its runner config after boot, runs one job, powers off.\n");
        }
        else
        {
            script.Append(CultureInfo.InvariantCulture, $"# Builtiful warm pool {pool} VM {request.LeaseId:N}: after boot it waits at the claim endpoint until a job's lease takes it, then claims that lease's runner config, runs one job, powers off.\n");
        }

        script.Append("# No runner config is in this user data: the claim token below is useless without this instance's AWS-signed identity.\n");
        script.Append("# Never trace this script (set -x): cloud-init logs its output, and the claim's answer holds a credential.\n");
        script.Append("set -u\n");
        script.Append(pool is null
            ? "# In-guest watchdog, armed before anything else: power off at the lease's deadline even if the control plane is gone.\n"
            : "# In-guest watchdog, armed before anything else: power off at the pool VM's idle deadline even if the control plane is gone.\n");
        script.Append(CultureInfo.InvariantCulture, $"deadline={deadline}\n");
        script.Append("minutes=$(( (deadline - $(date +%s)) / 60 ))\n");
        script.Append("if [ \"$minutes\" -lt 1 ]; then shutdown -P now; exit 0; fi\n");
        script.Append("shutdown -P \"+$minutes\" 'builtiful: lease deadline reached'\n");
        script.Append("# A just-in-time runner serves exactly one job: whatever happens below (refusal, failed claims, the job's end), the VM powers off when this script ends.\n");
        script.Append("trap 'shutdown -P now' EXIT\n");
        script.Append(CultureInfo.InvariantCulture, $"claim_url='{url.AbsoluteUri}'\n");
        script.Append(CultureInfo.InvariantCulture, $"lease_id='{request.LeaseId:D}'\n");
        script.Append(CultureInfo.InvariantCulture, $"claim_token='{request.Claim.Token}'\n");
        script.Append(CultureInfo.InvariantCulture, $"pool='{pool}'\n");
        script.Append("imds=http://169.254.169.254/latest\n");
        script.Append("config=''\n");
        script.Append("delay=1\n");
        script.Append("attempt=0\n");
        script.Append(CultureInfo.InvariantCulture, $"while [ \"$attempt\" -lt {ClaimAttempts} ]; do\n");
        script.Append("  attempt=$(( attempt + 1 ))\n");
        script.Append("  # IMDSv2: a session token first (hop limit 1, so no container on this VM reaches it), then the document AWS signs for this instance.\n");
        script.Append("  imds_token=$(curl -sf --max-time 5 -X PUT \"$imds/api/token\" -H 'X-aws-ec2-metadata-token-ttl-seconds: 300') || imds_token=''\n");
        script.Append("  document=$(curl -sf --max-time 5 -H \"X-aws-ec2-metadata-token: $imds_token\" \"$imds/dynamic/instance-identity/document\" | base64 -w0) || document=''\n");
        script.Append("  signature=$(curl -sf --max-time 5 -H \"X-aws-ec2-metadata-token: $imds_token\" \"$imds/dynamic/instance-identity/signature\" | tr -d '\\n') || signature=''\n");
        script.Append("  status=000\n");
        script.Append("  answer=''\n");
        script.Append("  if [ -n \"$document\" ] && [ -n \"$signature\" ]; then\n");
        script.Append("    # The claim goes on standard input (printf is a shell builtin), never on a command line other processes could read.\n");
        script.Append(CultureInfo.InvariantCulture, $"    answer=$(printf '{{\"leaseId\":\"%s\",\"token\":\"%s\",\"document\":\"%s\",\"signature\":\"%s\",\"pool\":\"%s\"}}' \"$lease_id\" \"$claim_token\" \"$document\" \"$signature\" \"$pool\" | curl -sS --proto '{protocols}' --max-time 30 -H 'Content-Type: application/json' --data-binary @- -w '\\n%{{http_code}}' \"$claim_url\") || answer=''\n");
        script.Append("    status=${answer##*$'\\n'}\n");
        script.Append("    answer=${answer%$'\\n'*}\n");
        script.Append("  fi\n");
        script.Append("  case \"$status\" in\n");
        script.Append("    200)\n");
        script.Append("      # Held in memory only; System.Text.Json escapes '+' and may escape '/'.\n");
        script.Append("      config=$(printf '%s' \"$answer\" | sed -n 's/.*\"encodedJitConfig\":\"\\([^\"]*\\)\".*/\\1/p' | sed 's/\\\\u002B/+/g; s/\\\\u002F/\\//g; s/\\\\\\//\\//g')\n");
        script.Append("      break ;;\n");
        script.Append("    202)\n");
        script.Append("      # A pool VM no job has taken yet: the gateway held the claim already, so ask again at once; waiting is not a failed attempt.\n");
        script.Append("      attempt=0; delay=1; continue ;;\n");
        script.Append("    400|403|404)\n");
        script.Append("      echo \"builtiful: the claim for lease $lease_id was refused ($status); powering off\"\n");
        script.Append("      exit 1 ;;\n");
        script.Append("  esac\n");
        script.Append("  # Network errors, 503 (the lease does not know this VM yet, or GitHub failed) and other answers: retry with capped, jittered backoff.\n");
        script.Append("  sleep $(( RANDOM % delay + 1 ))\n");
        script.Append(CultureInfo.InvariantCulture, $"  delay=$(( delay * 2 > {ClaimMaxDelaySeconds} ? {ClaimMaxDelaySeconds} : delay * 2 ))\n");
        script.Append("done\n");
        if (pool is not null)
        {
            script.Append("# Taken by a lease: the watchdog moves from the idle deadline to that lease's deadline.\n");
            script.Append("expires=$(printf '%s' \"$answer\" | sed -n 's/.*\"expiresAt\":\"\\([^\"]*\\)\".*/\\1/p' | sed 's/\\\\u002B/+/g')\n");
            script.Append("if [ -n \"$expires\" ] && deadline=$(date -d \"$expires\" +%s); then\n");
            script.Append("  minutes=$(( (deadline - $(date +%s)) / 60 ))\n");
            script.Append("  shutdown -c\n");
            script.Append("  if [ \"$minutes\" -lt 1 ]; then shutdown -P now; exit 0; fi\n");
            script.Append("  shutdown -P \"+$minutes\" 'builtiful: lease deadline reached'\n");
            script.Append("fi\n");
        }

        script.Append("answer=''\n");
        script.Append("case \"$config\" in\n");
        script.Append("  ''|*[!A-Za-z0-9+/=]*) echo \"builtiful: no runner config claimed for lease $lease_id; powering off\"; exit 1 ;;\n");
        script.Append("esac\n");
        script.Append(CultureInfo.InvariantCulture, $"cd '{runner.Directory}'\n");
        script.Append("# The config reaches the runner only through its environment: no file, no command line. The runner reads it and\n");
        script.Append("# removes it from its own environment, so the job's processes do not inherit it; the runner runs unprivileged.\n");
        script.Append(CultureInfo.InvariantCulture, $"export {JitConfigVariable}=\"$config\"\n");
        script.Append("config=''\n");
        script.Append(CultureInfo.InvariantCulture, $"runuser -u '{runner.User}' -- ./run.sh\n");
        return script.ToString();
    }

    [GeneratedRegex("^[A-Za-z0-9:/._~%?&=+@-]+$")]
    private static partial Regex UrlText();

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex PoolName();

    [GeneratedRegex("^[0-9a-f]{16,128}$")]
    private static partial Regex Hex();
}
