using System.Security.Authentication;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace Builtiful.Gateway.Security;

/// <summary>
/// Every HTTPS endpoint Kestrel serves (the webhook endpoint, admin API and dashboard share them) accepts TLS 1.3
/// only. Certificates come from ASP.NET's standard <c>Kestrel:Certificates:Default:Path</c> / <c>Password</c> or
/// <c>Kestrel:Endpoints</c>; without one, Kestrel serves plain HTTP and TLS belongs to whatever terminates it in front.
/// </summary>
public static class HttpsTls
{
    /// <summary>The only protocol inbound HTTPS accepts.</summary>
    public const SslProtocols Inbound = SslProtocols.Tls13;

    public static IServiceCollection AddTls13OnlyHttps(this IServiceCollection services) =>
        services.Configure<KestrelServerOptions>(kestrel => kestrel.ConfigureHttpsDefaults(https => https.SslProtocols = Inbound));
}
