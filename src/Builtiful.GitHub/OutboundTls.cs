using System.Security.Authentication;

namespace Builtiful.GitHub;

/// <summary>
/// How Builtiful's own HTTP clients speak TLS: TLS 1.3 wherever the server offers it, TLS 1.2 only for servers that
/// offer nothing newer, never anything older, whatever the machine's defaults allow.
/// </summary>
public static class OutboundTls
{
    public const SslProtocols Protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    public static SocketsHttpHandler CreateHandler() => new() { SslOptions = { EnabledSslProtocols = Protocols } };
}
