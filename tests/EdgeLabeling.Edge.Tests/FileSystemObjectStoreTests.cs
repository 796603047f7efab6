using EdgeLabeling.Storage;

namespace EdgeLabeling.Edge.Tests;

public class FileSystemObjectStoreTests
{
    [Fact]
    public async Task ListAsync_Prefix_ReturnsOnlyKeysUnderItInOrder()
    {
        using var dir = new TempDir("fs-store-");
        var store = new FileSystemObjectStore(dir.Path);
        foreach (var key in new[] { "incoming/b/2.jpg", "incoming/a/1.jpg", "incoming/ab/3.jpg", "auto-labels/a/x.manifest" })
        {
            await store.PutBytesAsync("bucket-one", key, new byte[] { 1 }, "application/octet-stream");
        }

        async Task<List<string>> Keys(string prefix)
        {
            var keys = new List<string>();
            await foreach (var o in store.ListAsync("bucket-one", prefix))
            {
                keys.Add(o.Key);
            }

            return keys;
        }

        Assert.Equal(["incoming/a/1.jpg", "incoming/ab/3.jpg"], await Keys("incoming/a"));
        Assert.Equal(["incoming/a/1.jpg"], await Keys("incoming/a/"));
        Assert.Equal(["auto-labels/a/x.manifest", "incoming/a/1.jpg", "incoming/ab/3.jpg", "incoming/b/2.jpg"], await Keys(""));
        Assert.Empty(await Keys("missing/folder/"));
    }
}
