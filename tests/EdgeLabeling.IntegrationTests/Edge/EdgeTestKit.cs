using System.Security.Cryptography;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.IntegrationTests.Infrastructure;
using EdgeLabeling.Storage;
using SkiaSharp;

namespace EdgeLabeling.IntegrationTests.Edge;

/// <summary>Shared steps of the edge integration tests.</summary>
public static class EdgeTestKit
{
    public static string SamplesImages => Path.Combine(PackagedComponent.RepoRoot, "samples", "images");

    public static IReadOnlyList<string> SampleImages() =>
        Directory.Exists(SamplesImages)
            ? Directory.GetFiles(SamplesImages).Where(ObjectKeyLayout.HasImageExtension).Order(StringComparer.Ordinal).ToList()
            : throw new InvalidOperationException($"no sample images in {SamplesImages} (run the demo-model script)");

    /// <summary>
    /// Distinct variants of the sample frames: a small random patch in a corner and a re-encode, so every
    /// variant has its own SHA-256 while the parts (and so the routing) stay realistic.
    /// </summary>
    public static List<byte[]> Variants(int count, int seed)
    {
        var samples = SampleImages();
        var rng = new Random(seed);
        var result = new List<byte[]>(count);
        for (var i = 0; i < count; i++)
        {
            using var bmp = SKBitmap.Decode(samples[i % samples.Count]);
            using (var canvas = new SKCanvas(bmp))
            using (var paint = new SKPaint { Color = new SKColor((byte)rng.Next(256), (byte)rng.Next(256), (byte)rng.Next(256)) })
            {
                canvas.DrawRect(rng.Next(0, 6), rng.Next(0, 6), 3 + rng.Next(4), 3 + rng.Next(4), paint);
            }

            using var img = SKImage.FromBitmap(bmp);
            using var data = img.Encode(SKEncodedImageFormat.Jpeg, 85 + rng.Next(10));
            result.Add(data.ToArray());
        }

        return result;
    }

    /// <summary>
    /// Writes a frame as a camera would: a dotfile first, then an atomic rename (as root, into the camera's
    /// folder, created root:camera-group 2770 when missing as the deployment guide sets it up).
    /// </summary>
    public static void Drop(string inbox, string name, byte[] bytes)
    {
        DeviceAccounts.CreateCameraInbox(inbox);
        var tmp = Path.Combine(inbox, "." + name + ".part");
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, Path.Combine(inbox, name));
    }

    public static string Sha(byte[] b) => Convert.ToHexStringLower(SHA256.HashData(b));

    /// <summary>
    /// How often these tests check a running component's status file or the S3 bucket: listing radosgw every 50 ms
    /// would compete with the component under test for the machine's two cores.
    /// </summary>
    public static readonly TimeSpan StatusPoll = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// A routing config with near-duplicate detection off: the test frames are variants of a few samples and
    /// would otherwise be judged duplicates of each other.
    /// </summary>
    public static string NoDuplicatesRoutingConfig(string dir)
    {
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "routing.json");
        File.WriteAllText(path, """{"duplicateDetection": false}""");
        return path;
    }

    /// <summary>Options for a test run (strings, like a deployment's configuration merge).</summary>
    public static Dictionary<string, string> Config(string inbox, string bucket, string endpoint, params (string Key, string Value)[] extra)
    {
        var d = new Dictionary<string, string>
        {
            ["InputDirectory"] = inbox,
            ["CameraGroup"] = PackagedComponent.CameraGroup,
            ["Bucket"] = bucket,
            ["S3Endpoint"] = endpoint,
            ["FileStableMilliseconds"] = "100",
            ["PollMilliseconds"] = "100",
            ["AutoLabelBatchMaxWaitSeconds"] = "1",
            ["RetryAttempts"] = "1",
            ["RetryMaxBackoffSeconds"] = "2",
            ["StatusIntervalSeconds"] = "1",
            ["S3TimeoutSeconds"] = "5",
            ["LowPriorityWindow"] = "",
        };
        foreach (var (k, v) in extra)
        {
            d[k] = v;
        }

        return d;
    }

    /// <summary>Every incoming image in the bucket (sidecars excluded) by SHA-256 from its key.</summary>
    public static async Task<Dictionary<string, string>> IncomingImagesAsync(string bucket, string? endpoint = null)
    {
        var keys = await S3TestServer.ListAsync(bucket, ObjectKeyLayout.IncomingPrefix, endpoint);
        var images = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in keys.Keys)
        {
            if (ObjectKeyLayout.TryParse(key, out var k, out _) && !k.IsSidecar)
            {
                Assert.True(images.TryAdd(k.Sha256, key), $"two image objects for sha {k.Sha256}");
            }
        }

        return images;
    }

    /// <summary>Checks one uploaded review image: identical bytes and a valid sidecar that names it.</summary>
    public static async Task AssertReviewObjectAsync(string bucket, string key, byte[] expected)
    {
        var store = S3TestServer.CreateStore();
        Assert.Equal(expected, await store.ReadBytesAsync(bucket, key));
        var sidecar = await ObjectContent.ReadJsonBytesAsync(store, bucket, ObjectKeyLayout.SidecarKey(key), ReviewRecord.MaxSidecarBytes);
        Assert.NotNull(sidecar);
        var record = ReviewRecord.Parse(sidecar);
        Assert.Equal(key, record.ImageKey);
        Assert.True(RoutingOutcome.HumanReview.ToWire() == record.Outcome || RoutingOutcome.Audit.ToWire() == record.Outcome, record.Outcome);
    }

    public static long Outcomes(JsonObject status) =>
        status["outcomes"]!.AsObject().Sum(kv => kv.Value!.GetValue<long>());
}
