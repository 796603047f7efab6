using Amazon.Runtime;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Edge.Upload;

/// <summary>
/// Hands out the object store the uploader uses and can rebuild it. Rebuilding after a failed round makes
/// the SDK fetch credentials again, which is how the component recovers from a token exchange service that
/// was down or returned credentials that have since been replaced.
/// </summary>
public interface IObjectStoreProvider
{
    IObjectStore Current { get; }

    /// <summary>Drops the current client so the next <see cref="Current"/> starts fresh.</summary>
    void Reset();
}

/// <summary>Always the same store (tests, the local file-system default).</summary>
public sealed class FixedObjectStoreProvider(IObjectStore store) : IObjectStoreProvider
{
    public IObjectStore Current => store;

    public void Reset()
    {
    }
}

/// <summary>
/// S3 (or an S3-compatible server). Credentials, unless given: on a Greengrass core the token exchange
/// service (AWS_CONTAINER_CREDENTIALS_FULL_URI + AWS_CONTAINER_AUTHORIZATION_TOKEN) through the SDK's
/// container provider, otherwise the SDK default chain (environment, profile, instance role).
/// </summary>
public sealed class S3ObjectStoreProvider(S3Settings settings, AWSCredentials? credentials = null) : IObjectStoreProvider, IDisposable
{
    private readonly Lock _gate = new();
    private S3ObjectStore? _store;

    public S3Settings Settings => settings;

    public IObjectStore Current
    {
        get
        {
            lock (_gate)
            {
                return _store ??= new S3ObjectStore(settings.CreateClient(credentials ?? ContainerCredentialsOrNull()), settings);
            }
        }
    }

    /// <summary>
    /// A new container provider per client: the default chain caches what it fetched for the whole process,
    /// so after the token exchange service was down or handed out keys that S3 refused, only a fresh
    /// provider asks it again.
    /// </summary>
    private static GenericContainerCredentials? ContainerCredentialsOrNull() =>
        !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("AWS_CONTAINER_CREDENTIALS_FULL_URI"))
        || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"))
            ? new GenericContainerCredentials()
            : null;

    public void Reset()
    {
        lock (_gate)
        {
            _store?.Client.Dispose();
            _store = null;
        }
    }

    public void Dispose() => Reset();
}
