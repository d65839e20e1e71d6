using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Builtiful.Compute.Ec2.Options;
using Builtiful.Providers;

namespace Builtiful.Compute.Ec2.Launching;

/// <summary>
/// The cloud-init script a runner VM boots with: it arms the in-guest watchdog first (a kill switch that needs
/// no control plane), then starts the just-in-time runner, and powers the VM off when the runner exits.
/// Shutdown means termination, because instances launch with InstanceInitiatedShutdownBehavior=terminate.
/// </summary>
public static partial class RunnerUserData
{
    /// <summary>EC2 refuses user data over 16 KB, counted before base64 encoding.</summary>
    public const int MaxBytes = 16 * 1024;

    /// <summary>The script, base64-encoded for RunInstances. The same request always yields the same bytes.</summary>
    public static string Encode(LaunchRequest request, RunnerBootstrapOptions runner)
    {
        var script = Compose(request, runner);
        var bytes = Encoding.UTF8.GetBytes(script);
        if (bytes.Length > MaxBytes)
        {
            throw new Ec2LaunchException(
                $"User data for lease {request.LeaseId:N} is {bytes.Length} bytes, over EC2's {MaxBytes}-byte limit " +
                $"(the just-in-time runner config alone is {request.Runner.EncodedJitConfig.Length} bytes); nothing was launched.");
        }

        return Convert.ToBase64String(bytes);
    }

    public static string Compose(LaunchRequest request, RunnerBootstrapOptions runner)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(runner);
        var jit = request.Runner.EncodedJitConfig;
        if (string.IsNullOrEmpty(jit) || !Base64().IsMatch(jit))
        {
            // Only base64 goes inside the quotes, so the credential can never break out of them into the script.
            throw new Ec2LaunchException($"The just-in-time config for runner {request.Runner.RunnerName} is not base64; refusing to put it in user data.");
        }

        var deadline = request.ExpiresAt.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var script = new StringBuilder();
        script.Append("#!/bin/bash\n");
        script.Append(CultureInfo.InvariantCulture, $"# Builtiful runner {request.Runner.RunnerName} for lease {request.LeaseId:N}: one job on a fresh VM, then power off.\n");
        script.Append("# Never trace this script (set -x): cloud-init logs its output, and the runner line holds a credential.\n");
        script.Append("set -u\n");
        script.Append("# In-guest watchdog, armed before anything else: power off at the lease's deadline even if the control plane is gone.\n");
        script.Append(CultureInfo.InvariantCulture, $"deadline={deadline}\n");
        script.Append("minutes=$(( (deadline - $(date +%s)) / 60 ))\n");
        script.Append("if [ \"$minutes\" -lt 1 ]; then shutdown -P now; exit 0; fi\n");
        script.Append("shutdown -P \"+$minutes\" 'builtiful: lease deadline reached'\n");
        script.Append("# A just-in-time runner serves exactly one job: whatever happens below, the VM powers off when this script ends.\n");
        script.Append("trap 'shutdown -P now' EXIT\n");
        script.Append(CultureInfo.InvariantCulture, $"cd '{runner.Directory}'\n");
        script.Append(CultureInfo.InvariantCulture, $"runuser -u '{runner.User}' -- ./run.sh --jitconfig '{jit}'\n");
        return script.ToString();
    }

    [GeneratedRegex("^[A-Za-z0-9+/]+={0,2}$")]
    private static partial Regex Base64();
}
