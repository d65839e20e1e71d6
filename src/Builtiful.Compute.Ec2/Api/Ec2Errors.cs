using System.Net;
using Amazon.Runtime;

namespace Builtiful.Compute.Ec2.Api;

/// <summary>Reads EC2's error codes. The code decides, not the HTTP status: EC2 reports capacity shortages as 500s.</summary>
public static class Ec2Errors
{
    private static readonly HashSet<string> Throttling = new(StringComparer.Ordinal)
    {
        "RequestLimitExceeded", "Throttling", "ThrottlingException", "RequestThrottled", "TooManyRequestsException",
    };

    private static readonly HashSet<string> NoCapacity = new(StringComparer.Ordinal)
    {
        "InsufficientInstanceCapacity", "InsufficientCapacity", "InsufficientHostCapacity",
        "InsufficientReservedInstanceCapacity", "InsufficientFreeAddressesInSubnet", "InsufficientAddressCapacity",
        "Unsupported", "UnsupportedOperation",
    };

    private static readonly HashSet<string> Quota = new(StringComparer.Ordinal)
    {
        "VcpuLimitExceeded", "InstanceLimitExceeded", "MaxSpotInstanceCountExceeded", "SpotMaxPriceTooLow",
    };

    private static readonly HashSet<string> Unknown = new(StringComparer.Ordinal)
    {
        "InternalError", "InternalFailure", "ServiceUnavailable", "Unavailable", "RequestTimeout",
    };

    private static readonly HashSet<string> NotFound = new(StringComparer.Ordinal)
    {
        "InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed",
    };

    public static Ec2Failure Classify(Exception exception, CancellationToken callerToken = default)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (exception is Ec2ThrottledException)
        {
            return Ec2Failure.Throttled;
        }

        if (exception is AmazonServiceException service)
        {
            var code = service.ErrorCode ?? "";
            if (Throttling.Contains(code))
            {
                return Ec2Failure.Throttled;
            }

            if (NoCapacity.Contains(code))
            {
                return Ec2Failure.NoCapacity;
            }

            if (Quota.Contains(code))
            {
                return Ec2Failure.QuotaReached;
            }

            if (NotFound.Contains(code))
            {
                return Ec2Failure.NotFound;
            }

            if (code == "IdempotentParameterMismatch")
            {
                return Ec2Failure.TokenReused;
            }

            if (Unknown.Contains(code) || (int)service.StatusCode >= 500 || service.StatusCode == 0 || string.IsNullOrEmpty(code))
            {
                // No code at all means the answer never arrived intact (a proxy's 502, a truncated body): unknown.
                return Ec2Failure.Unknown;
            }

            return service.StatusCode == HttpStatusCode.TooManyRequests ? Ec2Failure.Throttled : Ec2Failure.Refused;
        }

        if (exception is OperationCanceledException && callerToken.IsCancellationRequested)
        {
            return Ec2Failure.Refused;
        }

        // Timeouts, resets, DNS failures and the SDK's wrappers of them: the request may have reached EC2.
        return Ec2Failure.Unknown;
    }

    /// <summary>EC2's error code, or the exception type when EC2 said nothing.</summary>
    public static string Code(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception is AmazonServiceException { ErrorCode.Length: > 0 } service ? service.ErrorCode : Innermost(exception).GetType().Name;
    }

    /// <summary><c>RequestLimitExceeded: Request limit exceeded.</c>, or the exception type when EC2 said nothing.</summary>
    public static string Describe(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception switch
        {
            Ec2ThrottledException => exception.Message,
            AmazonServiceException { ErrorCode.Length: > 0 } service => $"{service.ErrorCode}: {Trim(service.Message)}",
            AmazonServiceException service => $"HTTP {(int)service.StatusCode}: {Trim(service.Message)}",
            _ => $"{Innermost(exception).GetType().Name}: {Trim(Innermost(exception).Message)}",
        };
    }

    private static Exception Innermost(Exception exception)
    {
        var current = exception;
        while (current.InnerException is { } inner && current is AmazonClientException or AggregateException or HttpRequestException)
        {
            current = inner;
        }

        return current;
    }

    private static string Trim(string? message)
    {
        var text = (message ?? "").ReplaceLineEndings(" ").Trim();
        return text.Length <= 300 ? text : text[..300] + "…";
    }
}
