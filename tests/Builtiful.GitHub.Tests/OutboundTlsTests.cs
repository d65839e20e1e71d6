using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Builtiful.GitHub.Tests;

/// <summary>The GitHub client's own HTTP handler speaks TLS 1.3 wherever the server does, and TLS 1.2 only where it must.</summary>
public sealed class OutboundTlsTests : IDisposable
{
    private readonly TestCertificates _certificates = new();
    private readonly X509Certificate2 _certificate;

    public OutboundTlsTests() => (_certificate, _) = _certificates.Create("fake-github");

    public void Dispose()
    {
        _certificate.Dispose();
        _certificates.Dispose();
    }

    [Fact]
    public void The_handler_offers_TLS_1_2_and_1_3_and_nothing_older()
    {
        using var handler = OutboundTls.CreateHandler();

        Assert.Equal(SslProtocols.Tls12 | SslProtocols.Tls13, handler.SslOptions.EnabledSslProtocols);
    }

    [Theory]
    [InlineData(SslProtocols.Tls13 | SslProtocols.Tls12, SslProtocols.Tls13)]
    [InlineData(SslProtocols.Tls13, SslProtocols.Tls13)]
    [InlineData(SslProtocols.Tls12, SslProtocols.Tls12)]
    public async Task The_GitHub_client_negotiates_the_newest_version_the_server_offers(SslProtocols server, SslProtocols expected)
    {
        await using var api = await StartServerAsync(server);
        using var services = GitHubServices(new Uri(api.Urls.First()));
        using var http = services.GetRequiredService<IHttpClientFactory>().CreateClient(GitHubApi.HttpClientName);

        var negotiated = await http.GetStringAsync("tls");

        Assert.Equal(expected.ToString(), negotiated);
    }

    private ServiceProvider GitHubServices(Uri apiUrl)
    {
        using var key = RSA.Create(2048);
        var services = new ServiceCollection().AddLogging();
        services.AddGitHubApp(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["GitHub:Mode"] = "App",
            ["GitHub:ApiUrl"] = apiUrl.ToString(),
            ["GitHub:AppId"] = "424242",
            ["GitHub:PrivateKey"] = key.ExportRSAPrivateKeyPem(),
        }).Build());
        // The test's only change to the production handler: trust exactly the fake's self-signed certificate.
        services.AddHttpClient(GitHubApi.HttpClientName).ConfigurePrimaryHttpMessageHandler((handler, _) =>
            ((SocketsHttpHandler)handler).SslOptions.RemoteCertificateValidationCallback =
                (_, presented, _, _) => presented is not null && presented.GetCertHash().AsSpan().SequenceEqual(_certificate.GetCertHash()));
        return services.BuildServiceProvider();
    }

    private async Task<WebApplication> StartServerAsync(SslProtocols protocols)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrelHttpsConfiguration().ConfigureKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            listen.UseHttps(https =>
            {
                https.ServerCertificate = _certificate;
                https.SslProtocols = protocols;
            });
        }));
        var app = builder.Build();
        app.MapGet("/tls", (HttpContext context) => context.Features.Get<ITlsHandshakeFeature>()!.Protocol.ToString());
        await app.StartAsync();
        return app;
    }
}
