using System.Security.Cryptography;

namespace Builtiful.GitHub;

/// <summary>Loads the App's RSA private key from configuration; failures name the setting, never the key.</summary>
internal static class AppPrivateKey
{
    public const string PathSetting = GitHubAppOptions.Section + ":" + nameof(GitHubAppOptions.PrivateKeyPath);
    public const string InlineSetting = GitHubAppOptions.Section + ":" + nameof(GitHubAppOptions.PrivateKey);

    /// <summary>The key, or an operator-facing reason why there is none.</summary>
    public static RSA Load(GitHubAppOptions options)
    {
        var hasPath = !string.IsNullOrWhiteSpace(options.PrivateKeyPath);
        var hasInline = !string.IsNullOrWhiteSpace(options.PrivateKey);
        if (hasPath && hasInline)
        {
            throw new AppKeyException($"Set either {PathSetting} or {InlineSetting}, not both.");
        }

        if (!hasPath && !hasInline)
        {
            throw new AppKeyException($"GitHub:Mode is App but neither {PathSetting} nor {InlineSetting} is set: the App's private key (PEM) is required.");
        }

        var setting = hasPath ? PathSetting : InlineSetting;
        var pem = hasPath ? ReadFile(options.PrivateKeyPath!) : options.PrivateKey!;

        // Keys pasted into environment variables often arrive with literal \n instead of line breaks.
        if (!pem.Contains('\n', StringComparison.Ordinal) && pem.Contains("\\n", StringComparison.Ordinal))
        {
            pem = pem.Replace("\\n", "\n", StringComparison.Ordinal);
        }

        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);

            // A public key imports too; only signing proves the private half is there.
            rsa.SignData([0], HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            return rsa;
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            rsa.Dispose();
            var where = hasPath ? $"{setting} ('{options.PrivateKeyPath}')" : setting;
            throw new AppKeyException($"{where} does not hold a PEM-encoded, unencrypted RSA private key (the .pem file GitHub issues for the App).");
        }
    }

    private static string ReadFile(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new AppKeyException($"{PathSetting} is '{path}', which does not exist.");
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException or NotSupportedException or ArgumentException)
        {
            throw new AppKeyException($"{PathSetting} is '{path}', which cannot be read: {ex.GetType().Name}.");
        }
    }
}

/// <summary>The App's private key is missing or unusable; the message names the setting to fix.</summary>
internal sealed class AppKeyException(string message) : Exception(message);
