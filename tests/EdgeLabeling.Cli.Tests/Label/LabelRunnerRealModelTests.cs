using EdgeLabeling.Cli.Label;
using EdgeLabeling.Routing;
using EdgeLabeling.Routing.Tests;
using EdgeLabeling.Contracts;
using EdgeLabeling.Inference;

namespace EdgeLabeling.Cli.Tests.Label;

/// <summary>
/// End to end with the real demo detector (samples/models/parts-detector.onnx), a few sample frames and the
/// bad-input corpus (tests/assets/images): the path <c>edgelabel label</c> takes.
/// </summary>
[Trait("Category", "Integration")]
public sealed class LabelRunnerRealModelTests : IDisposable
{
    // Bad inputs of the shared corpus and the reason each must be quarantined with.
    private static readonly Dictionary<string, string> BadFiles = new(StringComparer.Ordinal)
    {
        ["zero-byte.jpg"] = "empty-file",
        ["truncated.jpg"] = "truncated-image",
        ["text-named.jpg"] = "not-an-image",
        ["huge-declared.png"] = "too-many-pixels",
        ["one-pixel.png"] = "too-small",
    };

    private readonly TempDir _root = new("edgelabel-real-");

    public void Dispose() => _root.Dispose();

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "EdgeLabelingStack.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no EdgeLabelingStack.sln above {AppContext.BaseDirectory}");
    }

    private static string Require(string path, string what)
    {
        Assert.True(File.Exists(path) || Directory.Exists(path), $"{what} is missing at {path}; run scripts/demo-model/make_demo_model.py (see samples/README.md)");
        return path;
    }

    private static OnnxDetector Open(string model, string? labels) => new(new OnnxDetectorOptions { ModelPath = model, LabelsPath = labels });

    [Fact]
    public void Run_SamplesAndBadCorpus_RoutesEveryFileAndQuarantinesBadOnesWithReasons()
    {
        var repo = RepoRoot();
        var model = Require(Path.Combine(repo, "samples/models/parts-detector.onnx"), "demo model");
        var samples = Require(Path.Combine(repo, "samples/images"), "sample images");
        var corpus = Require(Path.Combine(repo, "tests/assets/images"), "bad-input corpus");
        var input = _root.Sub("in");
        var output = _root.File("out");

        var picked = Directory.GetFiles(samples)
            .Where(f => ImageDecoder.Sniff(File.ReadAllBytes(f)) is ImageFormat.Jpeg or ImageFormat.Png)
            .Order(StringComparer.Ordinal).Take(8).ToList();
        Assert.True(picked.Count >= 4, $"expected at least 4 sample images in {samples}");
        Directory.CreateDirectory(Path.Combine(input, "cam1"));
        foreach (var f in picked)
        {
            File.Copy(f, Path.Combine(input, "cam1", Path.GetFileName(f)));
        }

        Directory.CreateDirectory(Path.Combine(input, "bad"));
        foreach (var name in BadFiles.Keys)
        {
            File.Copy(Require(Path.Combine(corpus, name), "corpus file"), Path.Combine(input, "bad", name));
        }

        var summary = LabelRunner.Run(new LabelRunRequest { ModelPath = model, InputDirectory = input, OutputDirectory = output, Threads = 2 }, Open);

        Assert.Equal(picked.Count + BadFiles.Count, summary.Images);
        Assert.Equal(summary.Images, summary.AutoLabel + summary.HumanReview + summary.Audit + summary.Duplicate + summary.Quarantine);
        Assert.Equal(BadFiles.Count, summary.Quarantine);
        Assert.Equal(["bolt", "nut", "washer"], summary.Model.ClassNames);
        Assert.Equal(64, summary.Model.Sha256.Length);
        foreach (var (name, reason) in BadFiles)
        {
            var reasonFile = Path.Combine(output, "quarantine/bad", name + ".reason.txt");
            Assert.True(File.Exists(reasonFile), $"{name} was not quarantined");
            Assert.Equal(reason, File.ReadLines(reasonFile).First());
        }

        var autoLines = File.ReadAllLines(Path.Combine(output, LabelRunner.AutoLabelsFile));
        Assert.Equal(summary.AutoLabel + summary.Audit, autoLines.Length);
        foreach (var line in autoLines)
        {
            var label = GroundTruthManifest.Parse(line, "parts");
            Assert.False(label.HumanAnnotated);
            Assert.Equal("edge-auto-local", label.JobName);
            Assert.StartsWith("file://", label.SourceRef);
            Assert.All(label.Boxes, b => Assert.True(b.Confidence >= 0.5 && b.Right <= label.Size.Width + 0.01 && b.Bottom <= label.Size.Height + 0.01));
        }

        var reviewLines = File.ReadAllLines(Path.Combine(output, LabelRunner.ReviewFile));
        Assert.Equal(summary.HumanReview + summary.Audit, reviewLines.Length);
        foreach (var line in reviewLines)
        {
            var record = ReviewRecord.Parse(System.Text.Encoding.UTF8.GetBytes(line));
            Assert.True(File.Exists(Path.Combine(output, "review/cam1", record.OriginalFile!)));
            Assert.Matches("^(uncertain:(bolt|nut|washer)@0\\.[0-9]{2}|no-detections|too-many-detections|audit-sample)$", record.Reason);
        }

        Assert.Equal(summary.Images, File.ReadAllLines(Path.Combine(output, LabelRunner.DecisionsFile)).Length);
        Assert.True(summary.Detections > 0, "the demo model found nothing in the sample frames");
        Assert.True(summary.ImagesPerSecond > 0);
    }

    [Fact]
    public void Run_TinyYoloModelOnWholeCorpus_QuarantinesBadFilesAndSkipsSidecars()
    {
        var repo = RepoRoot();
        var model = Require(Path.Combine(repo, "tests/assets/models/yolov8-tiny.onnx"), "tiny YOLOv8 test model");
        var corpus = Require(Path.Combine(repo, "tests/assets/images"), "bad-input corpus");
        var input = _root.Sub("in");
        foreach (var f in Directory.GetFiles(corpus))
        {
            File.Copy(f, Path.Combine(input, Path.GetFileName(f)));
        }

        var output = _root.File("out");
        var summary = LabelRunner.Run(new LabelRunRequest { ModelPath = model, InputDirectory = input, OutputDirectory = output, Threads = 2 }, Open);

        var images = Directory.GetFiles(input).Count(f => LabelRunner.ImageExtensions.Contains(Path.GetExtension(f)));
        Assert.Equal(images, summary.Images);
        Assert.Equal(Directory.GetFiles(input).Length - images, summary.Skipped);
        Assert.Equal(summary.Images, summary.AutoLabel + summary.HumanReview + summary.Audit + summary.Duplicate + summary.Quarantine);
        Assert.Equal(BadFiles.Count, summary.Quarantine);
        foreach (var (name, reason) in BadFiles)
        {
            Assert.Equal(reason, File.ReadLines(Path.Combine(output, "quarantine", name + ".reason.txt")).First());
            Assert.Equal(File.ReadAllBytes(Path.Combine(input, name)), File.ReadAllBytes(Path.Combine(output, "quarantine", name)));
        }

        // The usable odd formats (CMYK JPEG, 16-bit and gray PNG, EXIF-rotated) are all decided, none quarantined.
        var decisions = File.ReadAllLines(Path.Combine(output, LabelRunner.DecisionsFile)).Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!).ToList();
        foreach (var name in new[] { "cmyk.jpg", "gray.png", "gray16.png", "rgb16.png", "exif-rotated-6.jpg" })
        {
            var d = decisions.Single(x => x["path"]!.GetValue<string>() == name);
            Assert.NotEqual("quarantine", d["outcome"]!.GetValue<string>());
        }

        var rotated = File.ReadAllLines(Path.Combine(output, LabelRunner.AutoLabelsFile)).Concat(File.ReadAllLines(Path.Combine(output, LabelRunner.ReviewFile)))
            .Where(l => l.Contains("exif-rotated-6.jpg", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(rotated);
        Assert.All(rotated, l => Assert.Contains("\"width\":640,\"height\":480", l));
    }

    [Fact]
    public void Run_AllSamples_FlagsExactlyTheDocumentedNearDuplicates()
    {
        var repo = RepoRoot();
        var model = Require(Path.Combine(repo, "tests/assets/models/yolov8-tiny.onnx"), "tiny YOLOv8 test model");
        var samples = Require(Path.Combine(repo, "samples/images"), "sample images");
        var readme = File.ReadAllLines(Require(Path.Combine(repo, "samples/README.md"), "samples README"));
        // Rows like "| images/part-007.jpg | ... | near-duplicate of part-006 |" document which frames repeat.
        var expected = readme
            .Select(l => System.Text.RegularExpressions.Regex.Match(l, @"^\| images/(?<file>[^ ]+) .*near-duplicate of (?<of>[\w-]+)"))
            .Where(m => m.Success)
            .ToDictionary(m => m.Groups["file"].Value, m => m.Groups["of"].Value);
        Assert.NotEmpty(expected);
        var output = _root.File("out");

        // Duplicates do not depend on the model, so the tiny one keeps this fast.
        LabelRunner.Run(new LabelRunRequest { ModelPath = model, InputDirectory = samples, OutputDirectory = output, Threads = 2 }, Open);

        var decisions = File.ReadAllLines(Path.Combine(output, LabelRunner.DecisionsFile)).Select(l => System.Text.Json.Nodes.JsonNode.Parse(l)!).ToList();
        var duplicates = decisions.Where(d => d["outcome"]!.GetValue<string>() == "duplicate").ToList();
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), duplicates.Select(d => d["path"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        foreach (var d in duplicates)
        {
            var original = decisions.Single(o => Path.GetFileNameWithoutExtension(o["path"]!.GetValue<string>()) == expected[d["path"]!.GetValue<string>()]);
            Assert.Equal("duplicate-of:" + original["sha256"]!.GetValue<string>()[..12], d["reason"]!.GetValue<string>());
        }
    }

    [Fact]
    public void Run_PipelinedAndPlainPaths_MakeTheSameDecisions()
    {
        var repo = RepoRoot();
        var model = Require(Path.Combine(repo, "samples/models/parts-detector.onnx"), "demo model");
        var samples = Require(Path.Combine(repo, "samples/images"), "sample images");
        var input = _root.Sub("in");
        foreach (var f in Directory.GetFiles(samples).Order(StringComparer.Ordinal).Take(12))
        {
            File.Copy(f, Path.Combine(input, Path.GetFileName(f)));
        }

        // OnnxDetector takes the pipelined path; the same session behind the interface takes the plain one.
        LabelRunner.Run(new LabelRunRequest { ModelPath = model, InputDirectory = input, OutputDirectory = _root.File("a") }, Open);
        LabelRunner.Run(new LabelRunRequest { ModelPath = model, InputDirectory = input, OutputDirectory = _root.File("b") }, (m, l) => new Opaque(Open(m, l)));

        Assert.Equal(File.ReadAllLines(Path.Combine(_root.Path, "a", LabelRunner.DecisionsFile)), File.ReadAllLines(Path.Combine(_root.Path, "b", LabelRunner.DecisionsFile)));
        Assert.Equal(File.ReadAllLines(Path.Combine(_root.Path, "a", LabelRunner.ReviewFile)), File.ReadAllLines(Path.Combine(_root.Path, "b", LabelRunner.ReviewFile)));
    }

    [Fact]
    public void Run_NotAModel_FailsWithModelError()
    {
        var input = _root.Sub("in");
        File.WriteAllBytes(Path.Combine(input, "a.png"), TestImages.Png(64, 48, seed: 1));
        var fake = _root.File("not-a-model.onnx");
        File.WriteAllText(fake, "this is text, not ONNX\n");

        var ex = Assert.Throws<LabelRunException>(() => LabelRunner.Run(new LabelRunRequest { ModelPath = fake, InputDirectory = input, OutputDirectory = _root.File("out") }, Open));

        Assert.Equal(LabelExitCodes.ModelError, ex.ExitCode);
        Assert.Contains("not-a-model.onnx", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    /// <summary>Hides the concrete detector type so the runner cannot pick the pipelined path.</summary>
    private sealed class Opaque(IDetector inner) : IDetector
    {
        public DetectorInfo Info => inner.Info;

        public IReadOnlyList<PixelBox> Detect(DecodedImage image) => inner.Detect(image);

        public void Dispose() => inner.Dispose();
    }
}
