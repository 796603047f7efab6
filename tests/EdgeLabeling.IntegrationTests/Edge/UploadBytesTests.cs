using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using EdgeLabeling.Contracts;
using EdgeLabeling.Edge.Hosting;
using EdgeLabeling.Edge.Status;
using EdgeLabeling.Edge.Upload;
using EdgeLabeling.Inference;
using EdgeLabeling.IntegrationTests.Infrastructure;
using EdgeLabeling.Routing;
using Xunit.Abstractions;

namespace EdgeLabeling.IntegrationTests.Edge;

/// <summary>
/// Link bytes on the sample set: the in-process component (real model and routing) uploads to radosgw
/// through a counting TCP proxy, compared with sending every image (the baseline) and with the bytes of
/// the review and audit images alone (what people need).
/// </summary>
[Trait("Category", "Integration")]
public sealed class UploadBytesTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TempDir _dir = new("edge-bytes-");
    private string _bucket = "";

    public async Task InitializeAsync() => _bucket = await S3TestServer.CreateBucketAsync("edge-bytes");

    public async Task DisposeAsync()
    {
        await S3TestServer.DeleteBucketAsync(_bucket);
        _dir.Dispose();
    }

    [Fact]
    public async Task Run_OnSampleSet_SendsOnlyReviewImagesAndSmallRecords()
    {
        var samples = EdgeTestKit.SampleImages();
        var inbox = _dir.File("in");
        var work = _dir.File("work");
        using var proxy = TcpProxy.For(S3TestServer.Endpoint);
        string[] args =
        [
            "--ThingName", "bytes-dev", "--InputDirectory", inbox, "--WorkDirectory", work, "--Bucket", _bucket,
            "--S3Endpoint", proxy.Endpoint, "--Region", S3TestServer.Region, "--ModelPath", PackagedComponent.ModelPath,
            "--FileStableMilliseconds", "50", "--PollMilliseconds", "50", "--AutoLabelBatchSize", "1000",
            "--AutoLabelBatchMaxWaitSeconds", "2", "--StatusIntervalSeconds", "1",
        ];
        using var host = EdgeComponentHost.CreateBuilder(args, new EdgeComponentOverrides { Credentials = S3TestServer.Credentials }).Build();
        foreach (var s in samples)
        {
            EdgeTestKit.Drop(inbox, Path.GetFileName(s), File.ReadAllBytes(s));
        }

        await host.StartAsync();
        StatusReport? status = null;
        await Eventually.Until(
            () => (status = Read(work)) is { } st && st.Outcomes.Values.Sum() == samples.Count && st.QueuedItems == 0,
            TimeSpan.FromSeconds(90),
            () => "all samples decided and uploaded", EdgeTestKit.StatusPoll);
        await host.StopAsync();
        status = Read(work)!;

        var baseline = samples.Sum(s => new FileInfo(s).Length);
        var objects = await S3TestServer.ListAsync(_bucket);
        var reviewImages = objects.Where(o => ObjectKeyLayout.TryParse(o.Key, out var k, out _) && !k.IsSidecar).Sum(o => o.Value);
        // Sidecars only: the fleet heartbeat (status/{thing}/heartbeat.json) is counted apart, as heartbeatBytes.
        var sidecars = objects.Where(o => ObjectKeyLayout.TryParse(o.Key, out var k, out _) && k.IsSidecar).Sum(o => o.Value);
        var labels = objects.Where(o => o.Key.StartsWith(LabelingConventions.AutoLabelsPrefix, StringComparison.Ordinal)).Sum(o => o.Value);
        var reviewCount = status.Outcomes["human-review"] + status.Outcomes["audit"];

        string Ratio(long v) => reviewImages == 0 ? "n/a" : (v / (double)reviewImages).ToString("0.000", CultureInfo.InvariantCulture);
        output.WriteLine($"| frames | {samples.Count} (review {status.Outcomes["human-review"]}, audit {status.Outcomes["audit"]}, auto {status.Outcomes["auto-label"]}, duplicate {status.Outcomes["duplicate"]}, quarantine {status.Outcomes["quarantine"]}) |");
        output.WriteLine($"| baseline: upload every image | {baseline} B | {Ratio(baseline)} |");
        output.WriteLine($"| review+audit images | {reviewImages} B | 1.000 |");
        output.WriteLine($"| + sidecars | {sidecars} B | |");
        output.WriteLine($"| + auto-label batches | {labels} B | |");
        output.WriteLine($"| payload uploaded (component counter) | {status.BytesUploaded} B | {Ratio(status.BytesUploaded)} |");
        // EXIF-rotated frames go up re-encoded upright (one image frame); how their size changed.
        var normalizer = new UploadImageNormalizer();
        var rotated = samples.Select(File.ReadAllBytes).Where(b => ImageDecoder.ReadOrientation(b) != 1).ToList();
        var uprightShas = rotated.Select(b => Convert.ToHexStringLower(SHA256.HashData(normalizer.UploadBytes(b).Span))).ToHashSet(StringComparer.Ordinal);
        var rotatedReviewed = objects.Where(o => ObjectKeyLayout.TryParse(o.Key, out var k, out _) && !k.IsSidecar && uprightShas.Contains(k.Sha256)).ToList();
        output.WriteLine($"| EXIF-rotated frames: {rotated.Count}, as stored | {rotated.Sum(b => (long)b.Length)} B | re-encoded upright {rotated.Sum(b => (long)normalizer.UploadBytes(b).Length)} B; {rotatedReviewed.Count} of them among the review images |");
        output.WriteLine($"| fleet heartbeats (not in the payload counter) | {status.HeartbeatBytes} B | |");
        output.WriteLine($"| bytes on the wire incl. HTTP/SigV4 headers (proxy) | {proxy.BytesUp} B | {Ratio(proxy.BytesUp)} |");

        Assert.Equal(reviewCount, objects.Count(o => ObjectKeyLayout.TryParse(o.Key, out var k, out _) && !k.IsSidecar));
        // Nothing sent twice: the payload is exactly the objects that exist.
        Assert.Equal(reviewImages + sidecars + labels, status.BytesUploaded);
        Assert.True(proxy.BytesUp < baseline || reviewCount == samples.Count, "routing should send less than every image");
        // The issue's target: at most 1.02 x the review images. Sidecars and label batches travel gzip-compressed
        // (see docs/benchmarks.md), which is what brings ~40 kB frames under it.
        Assert.True(status.BytesUploaded <= reviewImages * 1.02, $"payload {status.BytesUploaded} B is more than 1.02 x the review images ({reviewImages} B)");
        Assert.Equal(0, status.Drops);
    }

    private static StatusReport? Read(string work)
    {
        var path = Path.Combine(work, "status.json");
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllBytes(path), StatusJsonContext.Default.StatusReport) : null;
        }
        catch (Exception ex) when (ex is IOException or JsonException)
        {
            return null;
        }
    }
}
