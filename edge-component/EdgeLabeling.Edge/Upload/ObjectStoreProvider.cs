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
/// S3 (or an S3-compatible server). Credentials, unless given: the SDK default chain, which on a Greengrass
/// core reads the token exchange service the nucleus announces (AWS_CONTAINER_CREDENTIALS_FULL_URI +
/// AWS_CONTAINER_AUTHORIZATION_TOKEN) and fetches again before they expire; the harness checks both.
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
                return _store ??= new S3ObjectStore(settings.CreateClient(credentials), settings);
            }
        }
    }

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
