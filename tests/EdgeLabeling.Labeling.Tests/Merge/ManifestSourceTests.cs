using System.Text;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Labeling.Tests.Merge;

public sealed class ManifestSourceTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static async Task<List<(long, string)>> LinesAsync(ManifestSource source)
    {
        var lines = new List<(long, string)>();
        await foreach (var l in source.ReadLinesAsync())
        {
            lines.Add(l);
        }

        return lines;
    }

    [Fact]
    public async Task ReadLinesAsync_GzipFileAsCopiedFromTheBucket_YieldsTheLines()
    {
        // `aws s3 cp` of an edge batch keeps the stored gzip bytes; `edgelabel merge --auto-labels` must still read it.
        var path = Path.Combine(_dir.Path, "batch.manifest");
        await File.WriteAllBytesAsync(path, ObjectContent.Compress(Encoding.UTF8.GetBytes("{\"a\":1}\n\n{\"b\":2}\n")));

        var lines = await LinesAsync(ManifestSource.FromFile(path));

        Assert.Equal([(1L, "{\"a\":1}"), (3L, "{\"b\":2}")], lines);
    }

    [Fact]
    public async Task ReadLinesAsync_PlainAndGzipObjects_YieldTheSameLines()
    {
        var store = new FileSystemObjectStore(Path.Combine(_dir.Path, "s3"));
        var text = Encoding.UTF8.GetBytes("{\"a\":1}\n{\"b\":2}\n");
        await store.PutBytesAsync("bucket-a", "auto-labels/plain.manifest", text, "application/x-ndjson");
        await store.PutBytesAsync("bucket-a", "auto-labels/gzip.manifest", ObjectContent.Compress(text), "application/x-ndjson");

        var plain = await LinesAsync(ManifestSource.FromStore(store, "bucket-a", "auto-labels/plain.manifest"));
        var gzip = await LinesAsync(ManifestSource.FromStore(store, "bucket-a", "auto-labels/gzip.manifest"));

        Assert.Equal(2, plain.Count);
        Assert.Equal(plain, gzip);
    }
}
