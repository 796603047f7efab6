using EdgeLabeling.Edge.Upload;
using EdgeLabeling.Storage;

namespace EdgeLabeling.IntegrationTests.Infrastructure;

/// <summary>scripts/rgw.sh itself: CI runs it on machines where an earlier run may have been killed.</summary>
[Trait("Category", "Integration")]
public sealed class RgwScriptTests
{
    [Fact]
    public async Task Start_AfterDaemonsWereKilledLeavingTheirFolder_ClearsTheStaleClusterAndServes()
    {
        await using var rgw = new PrivateRgwServer(EdgeLabeling.IntegrationTests.Edge.PackagedComponent.RepoRoot);
        await rgw.StartAsync();
        Assert.Equal(3, rgw.KillDaemonsLeavingFolder());

        // Before the fix this refused with "already holds a cluster; run stop first" and CI failed in 3 s.
        await rgw.StartAsync();

        var bucket = await S3TestServer.CreateBucketAsync("rgw-restart", rgw.Endpoint);
        var data = System.Text.Encoding.UTF8.GetBytes("served again after a stale cluster");
        var sha = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data));
        var uploader = new ObjectUploader(new S3ObjectStoreProvider(S3TestServer.Settings(rgw.Endpoint), S3TestServer.Credentials), bucket, null);
        Assert.Equal(data.Length, await uploader.PutOnceAsync("probe/" + sha, () => new MemoryStream(data), data.Length, sha, "text/plain", default));
        Assert.Equal(data, await S3TestServer.CreateStore(rgw.Endpoint).ReadBytesAsync(bucket, "probe/" + sha));
    }
}
