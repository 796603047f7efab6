namespace EdgeLabeling.Storage;

/// <summary>
/// The object-store port used by the edge uploader, the cloud handlers and the local pipeline.
/// Implemented by <see cref="S3ObjectStore"/> (AWS S3 or any S3-compatible server) and by
/// <see cref="FileSystemObjectStore"/> (the embedded local default).
/// </summary>
public interface IObjectStore
{
    /// <summary>
    /// Writes (or overwrites) an object. Keys are validated by <see cref="ObjectKeys.Validate"/>. A
    /// <see cref="ObjectContent.ContentEncodingKey"/> entry in <paramref name="metadata"/> is stored as the
    /// object's Content-Encoding, not as user metadata.
    /// </summary>
    Task PutAsync(string bucket, string key, Stream content, string contentType, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores the file at <paramref name="path"/> (a spooled file the caller is done with) as an object and removes
    /// the file. A store on a local folder renames the file into place instead of copying its bytes; any other store
    /// uploads it as <see cref="PutAsync"/> does, then deletes it. After a failure the file may or may not still be
    /// there, so the caller deletes it in any case.
    /// </summary>
    async Task PutFileAndDeleteAsync(string bucket, string key, string path, string contentType, CancellationToken cancellationToken = default)
    {
        await using (var content = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous))
        {
            await PutAsync(bucket, key, content, contentType, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        File.Delete(path);
    }

    /// <summary>Metadata of an object, or null when it does not exist.</summary>
    Task<StoredObject?> HeadAsync(string bucket, string key, CancellationToken cancellationToken = default);

    /// <summary>Opens an object for reading, or returns null when it does not exist. The caller disposes the stream.</summary>
    Task<Stream?> OpenReadAsync(string bucket, string key, CancellationToken cancellationToken = default);

    /// <summary>Lists objects under a prefix in key order.</summary>
    IAsyncEnumerable<StoredObject> ListAsync(string bucket, string prefix, CancellationToken cancellationToken = default);

    Task DeleteAsync(string bucket, string key, CancellationToken cancellationToken = default);
}

/// <summary>What the store knows about an object. Metadata keys are lower-case without the x-amz-meta- prefix.</summary>
public sealed record StoredObject(string Bucket, string Key, long Size, DateTimeOffset LastModified, IReadOnlyDictionary<string, string> Metadata);

public static class ObjectStoreExtensions
{
    public static async Task PutBytesAsync(this IObjectStore store, string bucket, string key, ReadOnlyMemory<byte> bytes, string contentType, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        await using var ms = new MemoryStream(bytes.ToArray(), writable: false);
        await store.PutAsync(bucket, key, ms, contentType, metadata, cancellationToken).ConfigureAwait(false);
    }

    public static async Task<byte[]?> ReadBytesAsync(this IObjectStore store, string bucket, string key, CancellationToken cancellationToken = default)
    {
        await using var s = await store.OpenReadAsync(bucket, key, cancellationToken).ConfigureAwait(false);
        if (s is null)
        {
            return null;
        }

        using var ms = new MemoryStream();
        await s.CopyToAsync(ms, cancellationToken).ConfigureAwait(false);
        return ms.ToArray();
    }
}

/// <summary>Validation shared by every store: keys and bucket names that could escape a folder or confuse S3 are refused.</summary>
public static class ObjectKeys
{
    public const int MaxKeyBytes = 1024;

    public static void Validate(string bucket, string key)
    {
        if (string.IsNullOrEmpty(bucket) || bucket.Length is < 3 or > 63 || !bucket.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.') || bucket.Contains("..", StringComparison.Ordinal))
        {
            throw new ArgumentException($"bucket name '{bucket}' is not a valid S3 bucket name (3-63 of a-z, 0-9, '-', '.')", nameof(bucket));
        }

        if (string.IsNullOrEmpty(key))
        {
            throw new ArgumentException("object key is empty", nameof(key));
        }

        if (System.Text.Encoding.UTF8.GetByteCount(key) > MaxKeyBytes)
        {
            throw new ArgumentException($"object key is longer than {MaxKeyBytes} bytes", nameof(key));
        }

        if (key.StartsWith('/') || key.Contains('\\') || key.Split('/').Any(seg => seg is ".." or "." or "") || key.Any(char.IsControl))
        {
            throw new ArgumentException($"object key '{key}' has an absolute path, an empty, '.' or '..' segment, a backslash or a control character", nameof(key));
        }
    }

    public static void ValidatePrefix(string bucket, string prefix)
    {
        if (prefix.Length > 0)
        {
            Validate(bucket, prefix.EndsWith('/') ? prefix + "x" : prefix);
        }
        else
        {
            Validate(bucket, "x");
        }
    }
}
