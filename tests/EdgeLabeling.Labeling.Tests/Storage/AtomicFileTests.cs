using System.Security.Cryptography;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Labeling.Tests.Storage;

/// <summary>A whole file given as a stream is copied by the kernel; the result must be what a stream copy gives.</summary>
public sealed class AtomicFileTests : IDisposable
{
    private readonly TempDir _dir = new("atomic-file-");

    public void Dispose() => _dir.Dispose();

    private string Source(int bytes)
    {
        var path = _dir.File("source-" + Guid.NewGuid().ToString("N"));
        File.WriteAllBytes(path, RandomNumberGenerator.GetBytes(bytes));
        return path;
    }

    [Fact]
    public async Task WriteAsync_WholeFileStream_CopiesEveryByteAndLeavesNoTemporaryFile()
    {
        var source = Source(3 * 1024 * 1024 + 17);
        var target = Path.Combine(_dir.Path, "out", "shard.manifest");
        await using (var stream = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous))
        {
            await AtomicFile.WriteAsync(target, stream);
        }

        Assert.Equal(File.ReadAllBytes(source), File.ReadAllBytes(target));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(target)!, AtomicFile.TempPrefix + "*"));
    }

    [Fact]
    public async Task WriteAsync_FileStreamPartlyRead_CopiesOnlyWhatIsLeft()
    {
        var source = Source(100_000);
        var target = _dir.File("rest.bin");
        await using (var stream = File.OpenRead(source))
        {
            stream.Seek(40_000, SeekOrigin.Begin);
            await AtomicFile.WriteAsync(target, stream);
        }

        Assert.Equal(File.ReadAllBytes(source)[40_000..], File.ReadAllBytes(target));
    }

    [Fact]
    public async Task WriteAsync_SourceLockedAgainstReaders_FallsBackToTheStreamCopy()
    {
        var source = Source(50_000);
        var target = _dir.File("locked.bin");
        await using (var stream = new FileStream(source, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            await AtomicFile.WriteAsync(target, stream);
        }

        Assert.Equal(File.ReadAllBytes(source), File.ReadAllBytes(target));
        Assert.Empty(Directory.GetFiles(_dir.Path, AtomicFile.TempPrefix + "*"));
    }

    [Fact]
    public async Task PutAsync_OfTheFileSystemStore_FromAWholeFile_StoresTheSameObject()
    {
        var source = Source(1_000_000);
        var store = new FileSystemObjectStore(_dir.File("store"));
        await using (var stream = File.OpenRead(source))
        {
            await store.PutAsync("data", "dataset/shards/job-1.manifest", stream, "application/jsonlines");
        }

        await using var read = (await store.OpenReadAsync("data", "dataset/shards/job-1.manifest"))!;
        using var copy = new MemoryStream();
        await read.CopyToAsync(copy);
        Assert.Equal(File.ReadAllBytes(source), copy.ToArray());
        Assert.Equal(1_000_000, (await store.HeadAsync("data", "dataset/shards/job-1.manifest"))!.Size);
    }

    [Fact]
    public async Task PutFileAndDeleteAsync_OnTheFileSystemStore_MovesTheFileInWithItsContentType()
    {
        var source = Source(2_000_000);
        var expected = File.ReadAllBytes(source);
        var store = new FileSystemObjectStore(_dir.File("store"));

        await ((IObjectStore)store).PutFileAndDeleteAsync("data", "dataset/shards/job-2.manifest", source, "application/jsonlines");

        Assert.False(File.Exists(source));
        var head = (await store.HeadAsync("data", "dataset/shards/job-2.manifest"))!;
        Assert.Equal(expected.Length, head.Size);
        Assert.Equal("application/jsonlines", head.Metadata["content-type"]);
        Assert.Equal(expected, File.ReadAllBytes(store.PathOf("data", "dataset/shards/job-2.manifest")));
        Assert.Empty(Directory.GetFiles(_dir.File("store"), AtomicFile.TempPrefix + "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task PutFileAndDeleteAsync_OfAStoreWithoutItsOwn_UploadsThroughPutAndDeletesTheFile()
    {
        var source = Source(300_000);
        var expected = File.ReadAllBytes(source);
        var inner = new FileSystemObjectStore(_dir.File("inner"));
        var counting = new PutCountingStore(inner);

        await ((IObjectStore)counting).PutFileAndDeleteAsync("data", "a/b.manifest", source, "application/jsonlines");

        Assert.Equal(1, counting.Puts);
        Assert.False(File.Exists(source));
        Assert.Equal(expected, File.ReadAllBytes(inner.PathOf("data", "a/b.manifest")));
    }

    [Fact]
    public async Task PutFileAndDeleteAsync_InvalidKey_IsRefusedAndTheFileIsLeftForTheCaller()
    {
        var source = Source(1_000);
        var store = new FileSystemObjectStore(_dir.File("store"));

        await Assert.ThrowsAnyAsync<ArgumentException>(() => ((IObjectStore)store).PutFileAndDeleteAsync("data", "../escape", source, "text/plain"));

        Assert.True(File.Exists(source));
    }

    /// <summary>A store that only forwards (like a dry-run or metrics wrapper): it gets the interface's default.</summary>
    private sealed class PutCountingStore(IObjectStore inner) : IObjectStore
    {
        public int Puts { get; private set; }

        public Task PutAsync(string bucket, string key, Stream content, string contentType, IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
        {
            Puts++;
            return inner.PutAsync(bucket, key, content, contentType, metadata, cancellationToken);
        }

        public Task<StoredObject?> HeadAsync(string bucket, string key, CancellationToken cancellationToken = default) => inner.HeadAsync(bucket, key, cancellationToken);

        public Task<Stream?> OpenReadAsync(string bucket, string key, CancellationToken cancellationToken = default) => inner.OpenReadAsync(bucket, key, cancellationToken);

        public IAsyncEnumerable<StoredObject> ListAsync(string bucket, string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(bucket, prefix, cancellationToken);

        public Task DeleteAsync(string bucket, string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(bucket, key, cancellationToken);
    }
}
