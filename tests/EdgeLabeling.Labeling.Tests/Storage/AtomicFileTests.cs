using System.Security.Cryptography;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Labeling.Tests.Storage;

/// <summary>A whole file given as a stream is copied by the kernel; the result must be what a stream copy gives.</summary>
public sealed class AtomicFileTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "atomic-file-" + Guid.NewGuid().ToString("N"));

    public AtomicFileTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Source(int bytes)
    {
        var path = Path.Combine(_dir, "source-" + Guid.NewGuid().ToString("N"));
        File.WriteAllBytes(path, RandomNumberGenerator.GetBytes(bytes));
        return path;
    }

    [Fact]
    public async Task WriteAsync_WholeFileStream_CopiesEveryByteAndLeavesNoTemporaryFile()
    {
        var source = Source(3 * 1024 * 1024 + 17);
        var target = Path.Combine(_dir, "out", "shard.manifest");
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
        var target = Path.Combine(_dir, "rest.bin");
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
        var target = Path.Combine(_dir, "locked.bin");
        await using (var stream = new FileStream(source, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            await AtomicFile.WriteAsync(target, stream);
        }

        Assert.Equal(File.ReadAllBytes(source), File.ReadAllBytes(target));
        Assert.Empty(Directory.GetFiles(_dir, AtomicFile.TempPrefix + "*"));
    }

    [Fact]
    public async Task PutAsync_OfTheFileSystemStore_FromAWholeFile_StoresTheSameObject()
    {
        var source = Source(1_000_000);
        var store = new FileSystemObjectStore(Path.Combine(_dir, "store"));
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
}
