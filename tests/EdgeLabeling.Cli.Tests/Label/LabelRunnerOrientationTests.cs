using EdgeLabeling.Cli.Label;
using EdgeLabeling.Routing;
using EdgeLabeling.Routing.Tests;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.TestSupport;
using SkiaSharp;

namespace EdgeLabeling.Cli.Tests.Label;

/// <summary><c>edgelabel label</c> on EXIF-rotated frames: every record points at pixels where its boxes are.</summary>
public sealed class LabelRunnerOrientationTests : IDisposable
{
    private static readonly SceneBlock Red = new(0, new SKColor(220, 30, 30), new SKRectI(16, 8, 40, 32));
    private static readonly SceneBlock Blue = new(1, new SKColor(30, 40, 220), new SKRectI(72, 40, 104, 56));
    private static readonly SKColor[] ColorOfClass = [Red.Color, Blue.Color];

    private readonly TempDir _root = new("edgelabel-orient-");

    public void Dispose() => _root.Dispose();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void Run_ExifOrientedFrames_AutoLabelsAndReviewRecordsMatchThePixelsTheyPointTo(int orientation)
    {
        var input = _root.Sub("in");
        var output = _root.File("out");
        using (var autoScene = OrientedTestImages.Scene(128, 64, [Red]))
        using (var reviewScene = OrientedTestImages.Scene(128, 64, [Red, Blue]))
        {
            // Separate cameras: the two scenes are alike enough for the near-duplicate check of one camera.
            Directory.CreateDirectory(Path.Combine(input, "auto"));
            Directory.CreateDirectory(Path.Combine(input, "review"));
            File.WriteAllBytes(Path.Combine(input, "auto", "frame.jpg"), OrientedTestImages.OrientedJpeg(autoScene, orientation));
            File.WriteAllBytes(Path.Combine(input, "review", "frame.jpg"), OrientedTestImages.OrientedJpeg(reviewScene, orientation));
        }

        var model = _root.File("model.onnx");
        File.WriteAllBytes(model, [1]);
        var config = _root.File("routing.json");
        File.WriteAllText(config, """{"auditRate": 0}""");
        var summary = LabelRunner.Run(
            new LabelRunRequest { ModelPath = model, InputDirectory = input, OutputDirectory = output, ConfigPath = config, Threads = 1 },
            (_, _) => new BlockDetector([(Red, 0.9), (Blue, 0.4)]));
        Assert.Equal((1, 1), (summary.AutoLabel, summary.HumanReview));

        var auto = GroundTruthManifest.Parse(Assert.Single(File.ReadAllLines(Path.Combine(output, LabelRunner.AutoLabelsFile))), "parts");
        var autoPath = new Uri(auto.SourceRef).LocalPath;
        if (orientation == 1)
        {
            Assert.Equal(Path.Combine(input, "auto", "frame.jpg"), autoPath);
        }

        AssertBoxesOnTheirBlocks(File.ReadAllBytes(autoPath), auto.Size, auto.Boxes, orientation, "auto-label line");

        var reviewLine = JsonNode.Parse(Assert.Single(File.ReadAllLines(Path.Combine(output, LabelRunner.ReviewFile))))!.AsObject();
        var review = ReviewRecord.Parse(Encoding.UTF8.GetBytes(reviewLine.ToJsonString()));
        var copy = File.ReadAllBytes(Path.Combine(output, reviewLine["review-copy"]!.GetValue<string>()));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(copy)), review.ImageSha256);
        Assert.Contains(review.ImageSha256, review.ImageKey, StringComparison.Ordinal);
        AssertBoxesOnTheirBlocks(copy, review.ImageSize.ToImageSize(), review.PreAnnotations.Select(p => p.ToPixelBox()).ToList(), orientation, "review record");
    }

    private static void AssertBoxesOnTheirBlocks(byte[] image, ImageSize size, IReadOnlyList<PixelBox> boxes, int orientation, string what)
    {
        Assert.Equal(1, OrientedTestImages.OrientationOf(image));
        using var stored = OrientedTestImages.StoredPixels(image);
        Assert.Equal((stored.Width, stored.Height), (size.Width, size.Height));
        Assert.NotEmpty(boxes);
        foreach (var box in boxes)
        {
            Assert.True(OrientedTestImages.ShareOfColor(stored, box, ColorOfClass[box.ClassId]) > 0.9, $"{what}: class {box.ClassId} box not on its block (orientation {orientation})");
        }
    }
}
