using Amazon.Runtime;

namespace Builtiful.Compute.Ec2.Tests;

/// <summary>Hands the SDK an HTTP client whose transport is the fault injector.</summary>
public sealed class FaultInjectingHttpClientFactory(Ec2FaultInjector injector) : Amazon.Runtime.HttpClientFactory
{
    private readonly HttpClient _client = new(injector, disposeHandler: false) { Timeout = TimeSpan.FromSeconds(30) };

    public override HttpClient CreateHttpClient(IClientConfig clientConfig) => _client;

    public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

    public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;
}
