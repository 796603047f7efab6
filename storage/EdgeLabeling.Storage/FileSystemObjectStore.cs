using System.Runtime.CompilerServices;
using System.Text.Json;

namespace EdgeLabeling.Storage;

/// <summary>
/// The embedded local default: one folder per bucket under a root folder. Writes are atomic
/// (temp file, fsync, rename) so a reader never sees half an object; metadata sits in a hidden
/// sidecar file next to the object.
/// </summary>
public sealed class FileSystemObjectStore : IObjectStore
{
    private const string MetaSuffix = ".__meta.json";
    private readonly string _root;

    public FileSystemObjectStore(string root)
    {
        _root = Path.GetFullPath(root);
        Directory.CreateDirectory(_root);
    }

    public string Root => _root;

    public string PathOf(string bucket, string key)
    {
        ObjectKeys.Validate(bucket, key);
        if (key.EndsWith(MetaSuffix, StringComparison.Ordinal))
        {
            throw new ArgumentException($"object key '{key}' uses a suffix reserved by the local store", nameof(key));
        }

        var full = Path.GetFullPath(Path.Combine(_root, bucket, key));
        if (!full.StartsWith(Path.Combine(_root, bucket) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new ArgumentException($"object key '{key}' escapes the bucket folder", nameof(key));
        }

        return full;
    }

    public async Task PutAsync(string bucket, string key, Stream content, string contentType, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        var path = PathOf(bucket, key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var meta = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>(), StringComparer.Ordinal) { ["content-type"] = contentType };
        await AtomicFile.WriteAsync(path + MetaSuffix, JsonSerializer.SerializeToUtf8Bytes(meta, StorageJsonContext.Default.DictionaryStringString), cancellationToken).ConfigureAwait(false);
        await AtomicFile.WriteAsync(path, content, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Renames the spooled file into place (same file system) instead of copying it: a 1 GB merge shard is a tenth of the merge's CPU as a copy.</summary>
    public async Task PutFileAndDeleteAsync(string bucket, string key, string path, string contentType, CancellationToken cancellationToken = default)
    {
        var target = PathOf(bucket, key);
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var meta = new Dictionary<string, string>(StringComparer.Ordinal) { ["content-type"] = contentType };
        await AtomicFile.WriteAsync(target + MetaSuffix, JsonSerializer.SerializeToUtf8Bytes(meta, StorageJsonContext.Default.DictionaryStringString), cancellationToken).ConfigureAwait(false);
        AtomicFile.MoveInto(path, target);
    }

    public Task<StoredObject?> HeadAsync(string bucket, string key, CancellationToken cancellationToken = default)
    {
        var path = PathOf(bucket, key);
        var fi = new FileInfo(path);
        return Task.FromResult(fi.Exists ? Describe(bucket, key, fi) : null);
    }

    private static StoredObject Describe(string bucket, string key, FileInfo fi)
    {
        IReadOnlyDictionary<string, string> meta = new Dictionary<string, string>();
        var metaPath = fi.FullName + MetaSuffix;
        if (File.Exists(metaPath))
        {
            meta = JsonSerializer.Deserialize(File.ReadAllBytes(metaPath), StorageJsonContext.Default.DictionaryStringString) ?? meta;
        }

        return new StoredObject(bucket, key, fi.Length, fi.LastWriteTimeUtc, meta);
    }

    public Task<Stream?> OpenReadAsync(string bucket, string key, CancellationToken cancellationToken = default)
    {
        var path = PathOf(bucket, key);
        try
        {
            return Task.FromResult<Stream?>(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 81920, useAsync: true));
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult<Stream?>(null);
        }
    }

    public async IAsyncEnumerable<StoredObject> ListAsync(string bucket, string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ObjectKeys.ValidatePrefix(bucket, prefix);
        var bucketDir = Path.Combine(_root, bucket);
        if (!Directory.Exists(bucketDir))
        {
            yield break;
        }

        // Start at the deepest folder the prefix names, so listing incoming/x/ does not walk the whole bucket.
        var slash = prefix.LastIndexOf('/');
        var startDir = slash < 0 ? bucketDir : Path.Combine(bucketDir, prefix[..slash]);
        if (!Directory.Exists(startDir))
        {
            yield break;
        }

        var keys = Directory.EnumerateFiles(startDir, "*", SearchOption.AllDirectories)
            .Where(p => !p.EndsWith(MetaSuffix, StringComparison.Ordinal) && !Path.GetFileName(p).StartsWith(AtomicFile.TempPrefix, StringComparison.Ordinal))
            .Select(p => Path.GetRelativePath(bucketDir, p).Replace(Path.DirectorySeparatorChar, '/'))
            .Where(k => k.StartsWith(prefix, StringComparison.Ordinal))
            .OrderBy(k => k, StringComparer.Ordinal);
        foreach (var key in keys)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var fi = new FileInfo(Path.Combine(bucketDir, key));
            if (fi.Exists)
            {
                yield return Describe(bucket, key, fi);
            }

            await Task.Yield();
        }
    }

    public Task DeleteAsync(string bucket, string key, CancellationToken cancellationToken = default)
    {
        var path = PathOf(bucket, key);
        File.Delete(path);
        File.Delete(path + MetaSuffix);
        return Task.CompletedTask;
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class StorageJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
