using Builtiful.Gateway.Webhooks;
using Orleans.Runtime;

namespace Builtiful.Gateway.Tests;

/// <summary>
/// Which failures a delivery answers with 503 (the cluster or its database, to be redelivered) and which stay a 500 (a bug).
/// The whole path, a gateway whose silos are gone, is held by the standalone gateway's test in the silo tests.
/// </summary>
public sealed class UnavailableClusterTests
{
    public static TheoryData<Exception, bool> Failures => new()
    {
        { new TimeoutException("Response did not arrive on time in 00:00:30"), true },
        { new SiloUnavailableException("The target silo became unavailable"), true },
        { new GatewayTooBusyException(), true },
        { new Orleans.Runtime.Messaging.ConnectionFailedException("Unable to connect to endpoint S127.0.0.1:30000:0"), true },
        { new Orleans.Networking.Shared.SocketConnectionException("Connection refused"), true },
        { new Orleans.Storage.InconsistentStateException("ETag mismatch", "1", "2"), true },
        { new OrleansException("Storage write failed", new FakeDbException("connection refused")), true },
        { new AggregateException(new SiloUnavailableException()), true },
        { new OrleansException("A grain bug, wrapped", new InvalidOperationException("sequence contains no elements")), false },
        { new InvalidOperationException("sequence contains no elements"), false },
        { new ArgumentException("bad argument"), false },
        { new AggregateException(new TimeoutException(), new ArgumentException("bad argument")), false },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public void Only_failures_of_the_cluster_or_its_database_are_answered_as_unavailable(Exception failure, bool unavailable) =>
        Assert.Equal(unavailable, WebhookEndpoint.IsUnavailable(failure));

    private sealed class FakeDbException(string message) : System.Data.Common.DbException(message);
}
