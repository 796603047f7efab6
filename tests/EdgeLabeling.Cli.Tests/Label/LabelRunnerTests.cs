using EdgeLabeling.Cli.Label;
using EdgeLabeling.Routing;
using EdgeLabeling.Routing.Tests;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.Inference;

namespace EdgeLabeling.Cli.Tests.Label;

/// <summary>The folder runner behind <c>edgelabel label</c>, with a scripted detector (fast, exact counts).</summary>
public sealed class LabelRunnerTests : IDisposable
{
    private readonly TempDir _root = new("edgelabel-run-");
    private readonly string _input;
    private readonly string _output;
    private readonly string _model;

    public LabelRunnerTests()
    {
        _input = _root.Sub("in");
        _output = _root.File("out");
        _model = _root.File("model.onnx");
        File.WriteAllBytes(_model, [1, 2, 3]);
    }

    public void Dispose() => _root.Dispose();

    // The scripted detector answers by image width: 64 → confident nut, 72 → uncertain bolt, 80 → nothing.
    private static IReadOnlyList<PixelBox> ByWidth(DecodedImage image) => image.OriginalSize.Width switch
    {
        64 => [new PixelBox(1, 5, 5, 20, 20, 0.93)],
        72 => [new PixelBox(0, 5, 5, 20, 20, 0.41), new PixelBox(2, 30, 5, 10, 10, 0.8)],
        _ => [],
    };

    private static DetectorFactory Fake(Func<DecodedImage, IReadOnlyList<PixelBox>>? answer = null) =>
        (_, _) => new FakeDetector(answer ?? ByWidth);

    private void Put(string relative, byte[] bytes, DateTime? writeTime = null)
    {
        var path = Path.Combine(_input, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, bytes);
        File.SetLastWriteTimeUtc(path, writeTime ?? new DateTime(2026, 11, 26, 8, 0, 0, DateTimeKind.Utc));
    }

    private void PutStandardSet()
    {
        var t0 = new DateTime(2026, 11, 26, 8, 0, 0, DateTimeKind.Utc);
        Put("cam1/001.png", TestImages.Png(64, 48, seed: 1), t0);
        Put("cam1/002.png", TestImages.Png(64, 48, seed: 1, noise: 4, frame: 2), t0.AddSeconds(30)); // near-duplicate of 001
        Put("cam2/003.jpg", TestImages.Jpeg(72, 48, seed: 2));
        Put("cam2/004.png", TestImages.Png(80, 48, seed: 3));
        Put("bad/empty.jpg", []);
        Put("bad/notes.jpg", "this is not an image"u8.ToArray());
        var jpeg = TestImages.Jpeg(200, 150, seed: 4);
        Put("bad/cut.jpg", jpeg[..(jpeg.Length / 2)]);
        Put(".hidden.png", TestImages.Png(64, 48, seed: 5));
        Put("cam1/001.txt", "1 0.5 0.5 0.2 0.2\n"u8.ToArray());
    }

    private LabelRunRequest Request(string? config = null) => new()
    {
        ModelPath = _model,
        InputDirectory = _input,
        OutputDirectory = _output,
        ConfigPath = config,
        Threads = 2,
    };

    private string[] Lines(string file) => File.ReadAllLines(Path.Combine(_output, file));

    [Fact]
    public void Run_MixedFolder_WritesEveryOutputWithConsistentCounts()
    {
        PutStandardSet();

        var summary = LabelRunner.Run(Request(), Fake());

        Assert.Equal(7, summary.Images);
        Assert.Equal(1, summary.Skipped);
        Assert.Equal((1, 2, 0, 1, 3), (summary.AutoLabel, summary.HumanReview, summary.Audit, summary.Duplicate, summary.Quarantine));
        Assert.Equal(summary.Images, summary.AutoLabel + summary.HumanReview + summary.Audit + summary.Duplicate + summary.Quarantine);
        Assert.Equal(3, summary.Detections);
        Assert.Equal(1, summary.Reasons["uncertain:bolt"]);
        Assert.Equal(1, summary.Reasons["no-detections"]);
        Assert.Equal(1, summary.Reasons["empty-file"]);
        Assert.Equal(1, summary.Reasons["not-an-image"]);
        Assert.Equal(1, summary.Reasons["truncated-image"]);
        Assert.Equal(new string('a', 64), summary.Model.Sha256);

        var auto = Assert.Single(Lines(LabelRunner.AutoLabelsFile));
        var label = GroundTruthManifest.Parse(auto, "parts");
        Assert.Equal(new Uri(Path.Combine(_input, "cam1/001.png")).AbsoluteUri, label.SourceRef);
        Assert.Equal("nut", label.ClassMap[1]);

        var reviews = Lines(LabelRunner.ReviewFile);
        Assert.Equal(2, reviews.Length);
        var first = JsonNode.Parse(reviews[0])!.AsObject();
        Assert.Equal(Path.Combine(_input, "cam2/003.jpg"), first["source-path"]!.GetValue<string>());
        Assert.Equal("review/cam2/003.jpg", first["review-copy"]!.GetValue<string>());
        var record = ReviewRecord.Parse(System.Text.Encoding.UTF8.GetBytes(reviews[0]));
        Assert.Equal("uncertain:bolt@0.41", record.Reason);
        Assert.Equal(2, record.PreAnnotations.Count);
        Assert.Equal("cam2", record.Camera);
        Assert.Equal(File.ReadAllBytes(Path.Combine(_input, "cam2/003.jpg")), File.ReadAllBytes(Path.Combine(_output, "review/cam2/003.jpg")));
        Assert.True(File.Exists(Path.Combine(_output, "review/cam2/004.png")));

        foreach (var (name, reason) in new[] { ("empty.jpg", "empty-file"), ("notes.jpg", "not-an-image"), ("cut.jpg", "truncated-image") })
        {
            var copy = Path.Combine(_output, "quarantine/bad", name);
            Assert.Equal(File.ReadAllBytes(Path.Combine(_input, "bad", name)), File.ReadAllBytes(copy));
            Assert.StartsWith(reason + "\n", File.ReadAllText(copy + ".reason.txt"));
        }

        var decisions = Lines(LabelRunner.DecisionsFile).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(7, decisions.Count);
        Assert.Equal(decisions.Select(d => d["path"]!.GetValue<string>()).Order(StringComparer.Ordinal), decisions.Select(d => d["path"]!.GetValue<string>()));
        Assert.StartsWith("duplicate-of:", decisions.Single(d => d["path"]!.GetValue<string>() == "cam1/002.png")["reason"]!.GetValue<string>());
        Assert.DoesNotContain(decisions, d => d["path"]!.GetValue<string>().Contains("hidden", StringComparison.Ordinal));

        var saved = LabelRunSummary.Parse(File.ReadAllText(Path.Combine(_output, LabelRunner.SummaryFile)));
        Assert.Equal((summary.Images, summary.AutoLabel, summary.Quarantine), (saved.Images, saved.AutoLabel, saved.Quarantine));
        Assert.Equal(0.5, saved.Options.AutoAcceptThreshold);
    }

    [Fact]
    public void Run_Twice_MakesIdenticalDecisions()
    {
        PutStandardSet();
        LabelRunner.Run(Request(), Fake());
        var first = Lines(LabelRunner.DecisionsFile);

        LabelRunner.Run(Request() with { Threads = 1 }, Fake());

        Assert.Equal(first, Lines(LabelRunner.DecisionsFile));
    }

    [Fact]
    public void Run_IntoPreviousOutput_ReplacesItsCopiesAndManifests()
    {
        PutStandardSet();
        LabelRunner.Run(Request(), Fake());
        File.Delete(Path.Combine(_input, "cam2/003.jpg"));

        LabelRunner.Run(Request(), Fake());

        Assert.False(File.Exists(Path.Combine(_output, "review/cam2/003.jpg")));
        Assert.Single(Lines(LabelRunner.ReviewFile));
        Assert.Equal(6, Lines(LabelRunner.DecisionsFile).Length);
    }

    [Fact]
    public void Run_ConfigFile_ChangesRouting()
    {
        PutStandardSet();
        var config = _root.File("routing.json");
        File.WriteAllText(config, """{"uncertainLow": 0.39, "autoAcceptThreshold": 0.4, "noDetections": "auto-label", "labelAttributeName": "widgets", "duplicateDetection": false, "auditRate": 0}""");

        var summary = LabelRunner.Run(Request(config), Fake());

        Assert.Equal((4, 0, 0, 3), (summary.AutoLabel, summary.HumanReview, summary.Duplicate, summary.Quarantine));
        Assert.All(Lines(LabelRunner.AutoLabelsFile), l => GroundTruthManifest.Parse(l, "widgets"));
    }

    [Fact]
    public void Run_CrashMidRun_KeepsDecisionsAlreadyMade()
    {
        PutStandardSet();
        var progress = new ThrowAfter(3);

        Assert.Throws<InvalidOperationException>(() => LabelRunner.Run(Request(), Fake(), progress));

        Assert.Equal(3, Lines(LabelRunner.DecisionsFile).Length);
        Assert.Equal(3, Directory.GetFiles(Path.Combine(_output, "quarantine/bad"), "*.reason.txt").Length);
    }

    [Fact]
    public void Run_MissingInputDirectory_FailsWithBadInput()
    {
        var ex = Assert.Throws<LabelRunException>(() => LabelRunner.Run(Request() with { InputDirectory = _root.File("nope") }, Fake()));

        Assert.Equal(LabelExitCodes.BadInput, ex.ExitCode);
        Assert.Contains("does not exist", ex.Message);
    }

    [Fact]
    public void Run_EmptyInputDirectory_FailsWithBadInput()
    {
        Put(".only-hidden.png", [1]);

        var ex = Assert.Throws<LabelRunException>(() => LabelRunner.Run(Request(), Fake()));

        Assert.Equal(LabelExitCodes.BadInput, ex.ExitCode);
        Assert.Contains("has no image files", ex.Message);
    }

    [Fact]
    public void Run_InputWithOnlyNonImageFiles_FailsWithBadInputCountingThem()
    {
        Put("labels/a.txt", [1]);
        Put("notes.md", [1]);

        var ex = Assert.Throws<LabelRunException>(() => LabelRunner.Run(Request(), Fake()));

        Assert.Equal(LabelExitCodes.BadInput, ex.ExitCode);
        Assert.Contains("only 2 other file(s)", ex.Message);
    }

    [Fact]
    public void FindImages_ImageExtensionsAnyCase_AreTakenAndOthersSkipped()
    {
        Put("a.JPG", [1]);
        Put("b.gif", [1]);
        Put("c.txt", [1]);
        Put("d", [1]);

        var files = LabelRunner.FindImages(_input).Select(Path.GetFileName);

        Assert.Equal(["a.JPG", "b.gif"], files);
    }

    [Fact]
    public void Run_MissingModel_FailsWithModelError()
    {
        PutStandardSet();

        var ex = Assert.Throws<LabelRunException>(() => LabelRunner.Run(Request() with { ModelPath = _root.File("missing.onnx") }, Fake()));

        Assert.Equal(LabelExitCodes.ModelError, ex.ExitCode);
        Assert.Contains("missing.onnx", ex.Message);
    }

    [Fact]
    public void Run_ModelLoadFails_FailsWithModelErrorOnOneLine()
    {
        PutStandardSet();

        var ex = Assert.Throws<LabelRunException>(() => LabelRunner.Run(Request(), (_, _) => throw new ModelLoadException("not ONNX:\nprotobuf parse error")));

        Assert.Equal(LabelExitCodes.ModelError, ex.ExitCode);
        Assert.Contains("not ONNX: protobuf parse error", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.False(Directory.Exists(_output));
    }

    [Fact]
    public void Run_BadConfig_FailsWithBadInputNamingField()
    {
        PutStandardSet();
        var config = _root.File("bad.json");
        File.WriteAllText(config, """{"auditRate": 7}""");

        var ex = Assert.Throws<LabelRunException>(() => LabelRunner.Run(Request(config), Fake()));

        Assert.Equal(LabelExitCodes.BadInput, ex.ExitCode);
        Assert.Equal("bad.json: auditRate: 7 is not in [0, 1]", ex.Message);
    }

    [Fact]
    public void Run_ConfigNamesClassModelLacks_FailsWithBadInput()
    {
        PutStandardSet();
        var config = _root.File("classes.json");
        File.WriteAllText(config, """{"classThresholds": {"gear": 0.6}}""");

        var ex = Assert.Throws<LabelRunException>(() => LabelRunner.Run(Request(config), Fake()));

        Assert.Equal(LabelExitCodes.BadInput, ex.ExitCode);
        Assert.Contains("classThresholds.gear", ex.Message);
    }

    [Fact]
    public void Run_MissingConfigFile_FailsWithBadInput()
    {
        PutStandardSet();

        var ex = Assert.Throws<LabelRunException>(() => LabelRunner.Run(Request(_root.File("none.json")), Fake()));

        Assert.Equal(LabelExitCodes.BadInput, ex.ExitCode);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(65)]
    public void Run_BadThreadCount_FailsWithBadInput(int threads)
    {
        PutStandardSet();

        var ex = Assert.Throws<LabelRunException>(() => LabelRunner.Run(Request() with { Threads = threads }, Fake()));

        Assert.Equal(LabelExitCodes.BadInput, ex.ExitCode);
        Assert.Contains("--threads", ex.Message);
    }

    [Fact]
    public void FindImages_OutputInsideInput_IsExcluded()
    {
        Put("a.png", TestImages.Png(64, 48, seed: 1));
        Put("out/old.png", TestImages.Png(64, 48, seed: 2));

        var files = LabelRunner.FindImages(_input, Path.Combine(_input, "out"));

        Assert.Equal([Path.Combine(_input, "a.png")], files);
    }

    private sealed class ThrowAfter(int count) : IProgress<LabelRunProgress>
    {
        public void Report(LabelRunProgress value)
        {
            if (value.Done >= count)
            {
                throw new InvalidOperationException("simulated crash");
            }
        }
    }
}
