using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.Runtime;
using EdgeLabeling.Cli.Commands;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Cli.Tests;

/// <summary>
/// `edgelabel pipeline` end to end on a 15-image subset of the samples: the built executable, the real edge
/// component, handlers, simulator and merge, checked through what they left behind (object store, dataset,
/// report) rather than through the report alone.
/// </summary>
public sealed class PipelineTests
{
    private const int SubsetSize = 15;
    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    [Fact]
    public async Task Pipeline_OnSampleSubsetWithEmbeddedStore_WritesConsistentReportDatasetAndCharts()
    {
        using var subset = new PipelineSampleSubset(SubsetSize);

        var (exit, stdout, stderr) = PipelineCli.Run(PipelineCli.Embedded, "pipeline", "--images", subset.Images, "--output", subset.Output, "--json");

        Assert.True(exit == 0, $"exit {exit}: {stderr}");
        var report = subset.Report();
        Assert.Equal(report["edge"]!.ToJsonString(), JsonNode.Parse(stdout)!["edge"]!.ToJsonString());
        Assert.Equal("embedded", report["objectStore"]!["kind"]!.GetValue<string>());
        var store = new FileSystemObjectStore(report["objectStore"]!["location"]!.GetValue<string>());
        await AssertConsistentAsync(report, store, subset.Output);
    }

    [Fact]
    [Trait("Category", "Integration")]
    public async Task Pipeline_OnSampleSubsetAgainstRadosgw_WritesConsistentReportAndDataset()
    {
        var endpoint = Environment.GetEnvironmentVariable("S3_ENDPOINT") is { Length: > 0 } e ? e : "http://127.0.0.1:7480";
        var key = Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID") is { Length: > 0 } k ? k : "TESTACCESSKEY0000001";
        var secret = Environment.GetEnvironmentVariable("AWS_SECRET_ACCESS_KEY") is { Length: > 0 } s ? s : "testsecretkey0000000000000000000000000001";
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) })
        {
            try
            {
                await http.GetAsync(endpoint);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                Assert.Fail($"S3 server at {endpoint} is unreachable ({ex.Message}); start it with `scripts/rgw.sh start` (or set S3_ENDPOINT)");
            }
        }

        using var subset = new PipelineSampleSubset(SubsetSize);
        var env = new Dictionary<string, string?> { ["S3_ENDPOINT"] = null, ["AWS_ACCESS_KEY_ID"] = key, ["AWS_SECRET_ACCESS_KEY"] = secret, ["AWS_REGION"] = "us-east-1" };

        var (exit, _, stderr) = PipelineCli.Run(env, "pipeline", "--images", subset.Images, "--output", subset.Output, "--s3-endpoint", endpoint, "--json");

        Assert.True(exit == 0, $"exit {exit}: {stderr}");
        var report = subset.Report();
        Assert.Equal("s3", report["objectStore"]!["kind"]!.GetValue<string>());
        var settings = new S3Settings { ServiceUrl = endpoint, ChecksumWhenRequired = true };
        using var client = settings.CreateClient(new BasicAWSCredentials(key, secret));
        await AssertConsistentAsync(report, new S3ObjectStore(client, settings), subset.Output);
    }

    [Fact]
    public void Pipeline_WithMissingModel_ExitsNonZeroWithOneLineReason()
    {
        using var subset = new PipelineSampleSubset(2);
        var missing = Path.Combine(subset.Root, "no-such-model.onnx");

        var (exit, _, stderr) = PipelineCli.Run(PipelineCli.Embedded, "pipeline", "--model", missing, "--images", subset.Images, "--output", subset.Output);

        Assert.Equal(2, exit);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("model file", line, StringComparison.Ordinal);
        Assert.Contains(missing, line, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(subset.Output, "report.json")));
    }

    [Fact]
    public void Pipeline_WithEmptyImagesFolder_ExitsNonZeroNamingTheFolder()
    {
        var root = Path.Combine(Path.GetTempPath(), "pipeline-empty-" + Guid.NewGuid().ToString("N")[..10]);
        var images = Directory.CreateDirectory(Path.Combine(root, "images")).FullName;
        File.WriteAllText(Path.Combine(images, "notes.txt"), "not an image");
        try
        {
            var (exit, _, stderr) = PipelineCli.Run(PipelineCli.Embedded, "pipeline", "--images", images, "--output", Path.Combine(root, "out"));

            Assert.Equal(2, exit);
            var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.Contains($"images folder '{images}' has no .jpg, .jpeg or .png files", line, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static long L(JsonNode? n) => n!.GetValue<long>();

    private static async Task AssertConsistentAsync(JsonObject report, IObjectStore store, string output)
    {
        var edge = report["edge"]!;
        var images = L(edge["images"]);
        Assert.Equal(SubsetSize, images);
        long auto = L(edge["autoLabel"]), review = L(edge["humanReview"]), audit = L(edge["audit"]);
        Assert.Equal(images, auto + review + audit + L(edge["duplicate"]) + L(edge["quarantine"]));
        Assert.Equal(0, L(edge["drops"]));

        // Every review/audit image (by its sidecar in the incoming bucket) is in exactly one job's input manifest.
        var incoming = report["objectStore"]!["incomingBucket"]!.GetValue<string>();
        var data = report["objectStore"]!["dataBucket"]!.GetValue<string>();
        var toPeople = new List<string>();
        await foreach (var o in store.ListAsync(incoming, ObjectKeyLayout.IncomingPrefix))
        {
            if (o.Key.EndsWith(ObjectKeyLayout.SidecarSuffix, StringComparison.Ordinal))
            {
                var record = ReviewRecord.Parse((await ObjectContent.ReadJsonBytesAsync(store, incoming, o.Key, ReviewRecord.MaxSidecarBytes))!);
                Assert.Contains(record.Outcome, new[] { "human-review", "audit" });
                toPeople.Add(record.ImageSha256);
            }
        }

        Assert.Equal(review + audit, toPeople.Count);
        var inJobs = new List<string>();
        var manifests = 0;
        await foreach (var o in store.ListAsync(data, LabelingConventions.JobInputPrefix))
        {
            if (o.Key.EndsWith("/input.manifest", StringComparison.Ordinal))
            {
                manifests++;
                var text = Encoding.UTF8.GetString((await store.ReadBytesAsync(data, o.Key))!);
                inJobs.AddRange(text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => ImageIdentity.KeyOf(JsonNode.Parse(l)!["source-ref"]!.GetValue<string>())));
            }
        }

        Assert.Equal(toPeople.Order(StringComparer.Ordinal), inJobs.Order(StringComparer.Ordinal));
        var cloud = report["cloud"]!;
        Assert.Equal(manifests, L(cloud["jobsCreated"]));
        Assert.True(manifests >= 1, "the subset has images for people, so at least one job");
        Assert.Equal(toPeople.Count, cloud["jobSizes"]!.AsArray().Sum(s => s!.GetValue<long>()));
        var labeled = L(cloud["labeledByPeople"]);
        Assert.Equal(L(cloud["imagesInJobs"]), labeled + L(cloud["returnedToPending"]));

        // The dataset: one GT line per auto-labeled image plus each reviewed image that came back labeled.
        var lines = File.ReadAllLines(Path.Combine(output, "dataset", "dataset.manifest")).Where(l => l.Length > 0).ToList();
        var parsed = lines.Select(l => GroundTruthManifest.Parse(l, LabelingConventions.DefaultDatasetAttribute)).ToList();
        Assert.Equal(auto + labeled, parsed.Count);
        Assert.Equal(labeled, parsed.Count(p => p.HumanAnnotated));
        Assert.Equal(parsed.Count, parsed.Select(p => ImageIdentity.KeyOf(p.SourceRef)).Distinct().Count());
        Assert.Equal(parsed.Count, L(report["dataset"]!["lines"]));

        AssertValidCoco(Path.Combine(output, "dataset", "coco.json"), parsed.Count, parsed.Sum(p => p.Boxes.Count));

        Assert.InRange(L(edge["bytesUploaded"]), 1, L(edge["uploadEverythingBytes"]) - 1);
        foreach (var (_, path) in report["charts"]!.AsObject())
        {
            var bytes = File.ReadAllBytes(path!.GetValue<string>());
            Assert.True(bytes.AsSpan().StartsWith(PngSignature), $"{path} is not a PNG");
        }

        var merged = report["quality"]!["merged"]!;
        Assert.InRange(merged["precision"]!.GetValue<double>(), 0.5, 1.0);
        Assert.InRange(merged["recall"]!.GetValue<double>(), 0.5, 1.0);
        Assert.Equal(parsed.Count, L(merged["images"]));
        Assert.Contains("## Dataset quality", File.ReadAllText(Path.Combine(output, "report.md")), StringComparison.Ordinal);

        // Production precision: the merge kept evidence for every image people answered; the report shows it per class.
        Assert.Contains("## Production precision", File.ReadAllText(Path.Combine(output, "report.md")), StringComparison.Ordinal);
        var precision = report["productionPrecision"]!;
        Assert.Equal(precision["byClass"]!.AsArray().Sum(c => L(c!["modelBoxes"])), L(precision["overall"]!["modelBoxes"]));
        if (audit == 0)
        {
            Assert.Equal(0, L(precision["overall"]!["modelBoxes"]));
        }

        // The lead's `estimate --from-run` reads the edge numbers back.
        var (share, averageBytes) = EstimateCommand.FromRun(output);
        Assert.Equal(edge["reviewShare"]!.GetValue<double>(), share);
        Assert.Equal(L(edge["averageImageBytes"]), averageBytes);
        Assert.Equal((review + audit) / (double)(auto + review + audit), share, 3);
    }

    private static void AssertValidCoco(string path, int images, int boxes)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        var root = doc.RootElement;
        var imageIds = root.GetProperty("images").EnumerateArray().Select(i => i.GetProperty("id").GetInt64()).ToHashSet();
        var categoryIds = root.GetProperty("categories").EnumerateArray().Select(c => c.GetProperty("id").GetInt64()).ToHashSet();
        Assert.Equal(images, imageIds.Count);
        Assert.NotEmpty(categoryIds);
        var annotations = root.GetProperty("annotations").EnumerateArray().ToList();
        Assert.Equal(boxes, annotations.Count);
        foreach (var a in annotations)
        {
            Assert.Contains(a.GetProperty("image_id").GetInt64(), imageIds);
            Assert.Contains(a.GetProperty("category_id").GetInt64(), categoryIds);
            var bbox = a.GetProperty("bbox").EnumerateArray().Select(v => v.GetDouble()).ToList();
            Assert.Equal(4, bbox.Count);
            Assert.True(bbox[2] > 0 && bbox[3] > 0, "COCO boxes have positive width and height");
        }
    }
}
