namespace Builtiful.Providers;

/// <summary>
/// Implemented by a provider's exceptions that know whether trying again can help. A lease gives up at once on a
/// permanent failure (GitHub refused the App's permissions, a machine type has no image) instead of retrying.
/// </summary>
public interface IProviderFailure
{
    bool IsPermanent { get; }
}
