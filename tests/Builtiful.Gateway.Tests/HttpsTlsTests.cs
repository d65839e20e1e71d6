using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Builtiful.Testing;

namespace Builtiful.Gateway.Tests;

/// <summary>
/// The all-in-one started as the README starts it, with a certificate through ASP.NET's standard
/// <c>Kestrel:Certificates:Default</c> keys and an https URL: TLS 1.2 is refused, TLS 1.3 is served.
/// </summary>
public sealed class HttpsTlsTests : IAsyncLifetime
{
    private readonly TestCertificates _certificates = new();
    private X509Certificate2 _certificate = null!;
    private BuiltifulInstance _builtiful = null!;

    private Uri Address => _builtiful.BaseAddress;

    public async Task InitializeAsync()
    {
        (_certificate, var pfx) = _certificates.Create("builtiful-https");
        _builtiful = await BuiltifulInstance.StartAsync(new Dictionary<string, string>
        {
            ["urls"] = "https://127.0.0.1:0",
            ["Kestrel:Certificates:Default:Path"] = pfx,
            ["Kestrel:Certificates:Default:Password"] = _certificates.Password,
        });
    }

    public async Task DisposeAsync()
    {
        await _builtiful.StopAsync();
        _certificate.Dispose();
        _certificates.Dispose();
    }

    [Fact]
    public void The_host_listens_on_https() => Assert.Equal("https", Address.Scheme);

    [Fact]
    public async Task A_TLS_1_2_client_is_refused()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, Address.Port);
        await using var tls = new SslStream(tcp.GetStream());

        var refused = await Assert.ThrowsAnyAsync<Exception>(() => tls.AuthenticateAsClientAsync(ClientOptions(SslProtocols.Tls12)));

        Assert.True(refused is AuthenticationException or IOException, $"expected a failed handshake, got {refused}");
    }

    [Fact]
    public async Task A_TLS_1_3_client_completes_the_handshake_and_is_served()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, Address.Port);
        await using var tls = new SslStream(tcp.GetStream());

        await tls.AuthenticateAsClientAsync(ClientOptions(SslProtocols.Tls13));
        await tls.WriteAsync(Encoding.ASCII.GetBytes("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
        using var reader = new StreamReader(tls, Encoding.ASCII);
        var response = await reader.ReadToEndAsync();

        Assert.Equal(SslProtocols.Tls13, tls.SslProtocol);
        Assert.StartsWith("HTTP/1.1 200", response, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_offering_every_version_gets_TLS_1_3()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, Address.Port);
        await using var tls = new SslStream(tcp.GetStream());

        await tls.AuthenticateAsClientAsync(ClientOptions(SslProtocols.None));

        Assert.Equal(SslProtocols.Tls13, tls.SslProtocol);
    }

    [Fact]
    public async Task Over_TLS_the_admin_API_answers_401_without_a_token_and_with_a_wrong_one()
    {
        using var handler = new SocketsHttpHandler
        {
            SslOptions = { EnabledSslProtocols = SslProtocols.Tls13, RemoteCertificateValidationCallback = (_, presented, _, _) => IsOurs(presented) },
        };
        using var http = new HttpClient(handler) { BaseAddress = Address };

        using var anonymous = await http.GetAsync("/api/v1/organisations/1");
        using var wrong = await SendAsync(http, "guess");
        using var right = await SendAsync(http, BuiltifulInstance.AdminToken);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, right.StatusCode);
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/organisations/1");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return await http.SendAsync(request);
    }

    private SslClientAuthenticationOptions ClientOptions(SslProtocols protocols) => new()
    {
        TargetHost = "localhost",
        EnabledSslProtocols = protocols,
        // Trust exactly the certificate the host was given, nothing else.
        RemoteCertificateValidationCallback = (_, presented, _, _) => IsOurs(presented),
    };

    private bool IsOurs(X509Certificate? presented) =>
        presented is not null && presented.GetCertHash().AsSpan().SequenceEqual(_certificate.GetCertHash());
}
