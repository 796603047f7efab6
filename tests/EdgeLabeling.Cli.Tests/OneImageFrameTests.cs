using System.Text;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.Edge.Hosting;
using EdgeLabeling.Edge.Upload;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Jobs;
using EdgeLabeling.Labeling.Pending;
using EdgeLabeling.Routing;
using EdgeLabeling.Storage;
using EdgeLabeling.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SkiaSharp;

namespace EdgeLabeling.Cli.Tests;

/// <summary>
/// One image frame from the camera to the COCO export, for each EXIF orientation 1-8: the real edge component
/// (intake, labeler over a color-block detector, routing, outbox, uploader) over a local object store; the
/// real job factory's input line (prior boxes); a Ground Truth output line whose boxes a labeler drew on the
/// stored pixels of the uploaded image (what the worker page shows: Ground Truth controls the rotation);
/// then <c>edgelabel merge</c> into the dataset manifest and COCO. Every box must lie on its object's pixels
/// in the image its line points to.
/// </summary>
[Trait("Category", "Integration")]
public sealed class OneImageFrameTests : IDisposable
{
    private const string Bucket = "edge-frame";
    private const string Thing = "dev1";
    private static readonly SceneBlock Red = new(0, new SKColor(220, 30, 30), new SKRectI(16, 8, 40, 32));
    private static readonly SceneBlock Blue = new(1, new SKColor(30, 40, 220), new SKRectI(72, 40, 104, 56));
    private static readonly Dictionary<string, SKColor> ColorOfClass = new(StringComparer.Ordinal) { ["red"] = Red.Color, ["blue"] = Blue.Color };
    private static readonly int[] Orientations = [1, 2, 3, 4, 5, 6, 7, 8];

    private readonly TempDir _root = new("edgelabel-frame-");
    private readonly Dictionary<string, int> _orientationTags = new(StringComparer.Ordinal);

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task EdgeToDatasetAndCoco_EveryExifOrientation_BoxesLandOnTheObjectPixels()
    {
        var store = new FileSystemObjectStore(_root.File("s3"));
        var inbox = _root.Sub("in");
        foreach (var o in Orientations)
        {
            // The red object moves with the orientation: upright frames that were alike would share one content address.
            var red = Red with { Rect = new SKRectI(Red.Rect.Left + (4 * o), Red.Rect.Top, Red.Rect.Right + (4 * o), Red.Rect.Bottom) };
            using var autoScene = OrientedTestImages.Scene(128, 64, [red]);
            using var reviewScene = OrientedTestImages.Scene(128, 64, [red, Blue]);
            Drop(inbox, $"auto-o{o}.jpg", OrientedTestImages.OrientedJpeg(autoScene, o));
            Drop(inbox, $"review-o{o}.jpg", OrientedTestImages.OrientedJpeg(reviewScene, o));
        }

        // Edge: red is confident (auto-label), blue is uncertain (the whole frame goes to review).
        await RunEdgeAsync(store, inbox);
        var reviewKeys = await KeysAsync(store, "incoming/");
        var imageKeys = reviewKeys.Where(k => !k.EndsWith(ObjectKeyLayout.SidecarSuffix, StringComparison.Ordinal)).ToList();
        Assert.Equal(8, imageKeys.Count);
        var autoLines = new List<string>();
        foreach (var key in (await KeysAsync(store, $"auto-labels/{Thing}/")).Where(k => !k.Contains("/images/", StringComparison.Ordinal)))
        {
            autoLines.AddRange(Encoding.UTF8.GetString((await ObjectContent.ReadJsonBytesAsync(store, Bucket, key, 1 << 20))!).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }

        Assert.Equal(8, autoLines.Count);

        // Cloud: the job factory's input lines carry the sidecars' prior boxes; a labeler adjusts them on the stored pixels.
        var items = new List<PendingItem>();
        foreach (var key in imageKeys)
        {
            var sidecar = ReviewRecord.Parse((await ObjectContent.ReadJsonBytesAsync(store, Bucket, ObjectKeyLayout.SidecarKey(key), ReviewRecord.MaxSidecarBytes))!);
            items.Add(new PendingItem(key, Bucket, Thing, PendingStatus.Pending, true, true, "b1", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, PendingPayload.From(sidecar)));
        }

        var factory = new LabelingJobFactory(new LabelingOptions
        {
            DataBucket = Bucket,
            WorkteamArn = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/parts",
            GroundTruthRoleArn = "arn:aws:iam::123456789012:role/gt",
        });
        var draft = factory.Build(new BatchRecord("b1", "frame-job-1", BatchStatus.Claimed, DateTimeOffset.UnixEpoch, items.Count, "2026-12", 1m), items);
        var outputLines = new List<string>();
        foreach (var inputLine in Encoding.UTF8.GetString(draft.Manifest).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var prior = GroundTruthManifest.Parse(inputLine, LabelingConventions.PriorAttribute("parts"));
            using var shown = await StoredPixelsAsync(store, prior.SourceRef);
            AssertOnBlocks(shown, prior.Size, prior.Boxes, prior.ClassMap, "prior boxes shown to the labeler in " + prior.SourceRef);
            outputLines.Add(HumanOutputLine(inputLine, shown, prior.SourceRef, draft.Labels));
        }

        // Merge (the same core as the merge Lambda) into the dataset manifest and COCO.
        var jobOutput = _root.File("output.manifest");
        var autoLabels = _root.File("auto.manifest");
        var dataset = _root.File("dataset.manifest");
        var coco = _root.File("coco.json");
        await File.WriteAllLinesAsync(jobOutput, outputLines);
        await File.WriteAllLinesAsync(autoLabels, autoLines);
        var (exit, stdout, stderr) = CliRunner.Run("merge", "--job-output", jobOutput, "--auto-labels", autoLabels, "--output", dataset, "--coco", coco);
        Assert.True(exit == 0, $"merge failed ({exit}): {stderr}{stdout}");

        var datasetLines = (await File.ReadAllLinesAsync(dataset)).Where(l => l.Length > 0).Select(l => GroundTruthManifest.Parse(l, "parts")).ToList();
        Assert.Equal(16, datasetLines.Count);
        Assert.Equal(8, datasetLines.Count(l => l.HumanAnnotated));
        foreach (var line in datasetLines)
        {
            using var pixels = await StoredPixelsAsync(store, line.SourceRef);
            AssertOnBlocks(pixels, line.Size, line.Boxes, line.ClassMap, "dataset line " + line.SourceRef);
            Assert.Equal(line.HumanAnnotated ? 2 : 1, line.Boxes.Count);
        }

        var doc = JsonNode.Parse(await File.ReadAllTextAsync(coco))!;
        var categories = doc["categories"]!.AsArray().ToDictionary(c => c!["id"]!.GetValue<int>(), c => c!["name"]!.GetValue<string>());
        var annotations = doc["annotations"]!.AsArray().GroupBy(a => a!["image_id"]!.GetValue<long>()).ToDictionary(g => g.Key, g => g.ToList());
        var images = doc["images"]!.AsArray();
        Assert.Equal(16, images.Count);
        foreach (var image in images)
        {
            var sourceRef = image!["source_ref"]!.GetValue<string>();
            var size = new ImageSize(image["width"]!.GetValue<int>(), image["height"]!.GetValue<int>());
            var boxes = annotations[image["id"]!.GetValue<long>()].Select(a =>
            {
                var b = a!["bbox"]!.AsArray().Select(v => v!.GetValue<double>()).ToArray();
                return new PixelBox(a["category_id"]!.GetValue<int>(), b[0], b[1], b[2], b[3], 1);
            }).ToList();
            using var pixels = await StoredPixelsAsync(store, sourceRef);
            AssertOnBlocks(pixels, size, boxes, categories, "COCO image " + sourceRef);
        }

        // No uploaded image asks a viewer to rotate it: stored pixels are the only frame.
        Assert.Equal(16, _orientationTags.Count);
        Assert.All(_orientationTags, t => Assert.True(t.Value == 1, $"{t.Key} carries EXIF orientation {t.Value}"));
    }

    private static void Drop(string inbox, string name, byte[] bytes)
    {
        var tmp = Path.Combine(inbox, "." + name + ".tmp");
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, Path.Combine(inbox, name));
    }

    private async Task RunEdgeAsync(IObjectStore store, string inbox)
    {
        var routing = _root.File("routing.json");
        // The upright scenes differ by a few pixels only: near-duplicate detection would drop most of them.
        await File.WriteAllTextAsync(routing, """{"duplicateDetection": false}""");
        string[] args =
        [
            "--ThingName", Thing, "--InputDirectory", inbox, "--WorkDirectory", _root.File("work"), "--Bucket", Bucket, "--Region", "us-east-1",
            "--FileStableMilliseconds", "50", "--PollMilliseconds", "50", "--AutoLabelBatchMaxWaitSeconds", "0", "--StatusIntervalSeconds", "1",
            "--RoutingConfigPath", routing, "--AuditRate", "0", "--AutoAcceptThreshold", "0.5", "--UncertainLow", "0.25", "--UploadAutoLabeledImages", "true",
        ];
        using var host = EdgeComponentHost.CreateBuilder(args, new EdgeComponentOverrides
        {
            Labeler = sp =>
            {
                var detector = new BlockDetector([(Red, 0.9), (Blue, 0.4)]);
                return new ImageLabeler(detector, new RoutingPolicy(sp.GetRequiredService<RoutingOptions>(), detector.Info.ClassNames));
            },
            Stores = _ => new FixedObjectStoreProvider(store),
        }).Build();
        await host.StartAsync();
        // 8 review images + 8 sidecars, 8 auto-labeled images: all queued work is out when these are in the store.
        // Non-short-circuit '&' so both counts are fresh for the failure message.
        int incoming = 0, autoLabeled = 0;
        await Eventually.Until(
            async () => (incoming = (await KeysAsync(store, "incoming/")).Count) >= 16
                & (autoLabeled = (await KeysAsync(store, $"auto-labels/{Thing}/images/")).Count) >= 8
                & Directory.GetFiles(inbox).Length == 0,
            TimeSpan.FromSeconds(60),
            "the edge component's upload of the 16 frames",
            () =>
            {
                var status = Path.Combine(_root.Path, "work", "status.json");
                return $"incoming {incoming}, auto-labeled images {autoLabeled}, inbox {Directory.GetFiles(inbox).Length}; "
                    + (File.Exists(status) ? File.ReadAllText(status) : "no status");
            },
            poll: TimeSpan.FromMilliseconds(100));

        await host.StopAsync();
    }

    private static async Task<List<string>> KeysAsync(IObjectStore store, string prefix)
    {
        var keys = new List<string>();
        await foreach (var o in store.ListAsync(Bucket, prefix))
        {
            keys.Add(o.Key);
        }

        return keys;
    }

    private async Task<SKBitmap> StoredPixelsAsync(IObjectStore store, string sourceRef)
    {
        var prefix = $"s3://{Bucket}/";
        Assert.StartsWith(prefix, sourceRef, StringComparison.Ordinal);
        var bytes = await store.ReadBytesAsync(Bucket, sourceRef[prefix.Length..]) ?? throw new InvalidOperationException($"{sourceRef} is not in the store");
        // Checked last, so a box off its object is reported as that rather than as the tag that caused it.
        _orientationTags[sourceRef] = OrientedTestImages.OrientationOf(bytes);
        return OrientedTestImages.StoredPixels(bytes);
    }

    /// <summary>A Ground Truth output line: the input line plus the label attribute a labeler drew on the shown pixels.</summary>
    private static string HumanOutputLine(string inputLine, SKBitmap shown, string sourceRef, IReadOnlyList<string> labels)
    {
        var drawn = new List<PixelBox>();
        foreach (var (name, color) in ColorOfClass)
        {
            if (OrientedTestImages.FindBlock(shown, labels.ToList().IndexOf(name), color) is { } box)
            {
                drawn.Add(box with { Confidence = 0 });
            }
        }

        var attribute = LabelingConventions.HumanAttribute("parts");
        var human = GroundTruthManifest.BuildLine(sourceRef, attribute, new ImageSize(shown.Width, shown.Height, 3), drawn, labels, humanAnnotated: true,
            "labeling-job/frame-job-1", DateTimeOffset.UnixEpoch, []);
        var line = JsonNode.Parse(inputLine)!.AsObject();
        line[attribute] = human[attribute]!.DeepClone();
        line[attribute + "-metadata"] = human[attribute + "-metadata"]!.DeepClone();
        return line.ToJsonString();
    }

    private static void AssertOnBlocks(SKBitmap pixels, ImageSize size, IReadOnlyList<PixelBox> boxes, IReadOnlyDictionary<int, string> classMap, string what)
    {
        Assert.True((pixels.Width, pixels.Height) == (size.Width, size.Height), $"{what}: size {size.Width}x{size.Height}, stored pixels {pixels.Width}x{pixels.Height}");
        Assert.NotEmpty(boxes);
        foreach (var box in boxes)
        {
            var name = classMap[box.ClassId];
            Assert.True(OrientedTestImages.ShareOfColor(pixels, box, ColorOfClass[name]) > 0.9, $"{what}: the {name} box ({box.Left},{box.Top},{box.Width},{box.Height}) is not on the {name} object");
        }
    }
}
