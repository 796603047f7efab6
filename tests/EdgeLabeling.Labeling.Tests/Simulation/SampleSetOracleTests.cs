using System.Security.Cryptography;
using EdgeLabeling.Contracts;
using EdgeLabeling.Simulation;

namespace EdgeLabeling.Labeling.Tests.Simulation;

/// <summary>The oracle over the project's real sample set (samples/images + samples/labels).</summary>
public sealed class SampleSetOracleTests
{
    private static string SamplesDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "samples");
            if (Directory.Exists(Path.Combine(candidate, "labels")) && Directory.Exists(Path.Combine(candidate, "images")))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException($"no samples/ folder with images/ and labels/ above {AppContext.BaseDirectory}");
    }

    [Fact]
    public void FromSampleSet_ContentAddressedKeyOfASampleImage_AnswersItsYoloBoxesInPixels()
    {
        var samples = SamplesDirectory();
        var oracle = YoloLabelOracle.FromSampleSet(samples);
        var image = Path.Combine(samples, "images", "part-001.jpg");
        var sha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(image)));
        var expected = YoloLabelOracle.ParseYolo(File.ReadAllLines(Path.Combine(samples, "labels", "part-001.txt")), new ImageSize(320, 320), "part-001.txt");

        var answer = oracle.Answer($"s3://incoming-bucket/{ObjectKeyLayout.ImageKey("site-a-cam1", DateTimeOffset.UtcNow, sha, "jpg")}", new ImageSize(320, 320));

        Assert.True(oracle.KnownImages >= 60, $"only {oracle.KnownImages} sample images were hashed");
        Assert.NotNull(answer);
        Assert.Equal(expected, answer.Boxes);
        Assert.NotEmpty(answer.Boxes);
        Assert.All(answer.Boxes, b => Assert.True(b.Left >= -0.5 && b.Right <= 320.5 && b.Width > 0, $"box {b} is outside the 320x320 image"));
    }

    [Fact]
    public void Answer_KeyOfTheFormTheEdgeUploads_FindsTheSampleItCameFrom()
    {
        // The edge re-encodes EXIF-rotated frames upright, so their key carries the hash of other bytes than the sample's.
        var samples = SamplesDirectory();
        static ReadOnlyMemory<byte> Reencoded(byte[] bytes) => bytes.Concat("re-encoded"u8.ToArray()).ToArray();
        var oracle = new YoloLabelOracle(Path.Combine(samples, "labels"), Path.Combine(samples, "images"), Reencoded);
        var without = new YoloLabelOracle(Path.Combine(samples, "labels"), Path.Combine(samples, "images"));
        var uploadedSha = Convert.ToHexStringLower(SHA256.HashData(Reencoded(File.ReadAllBytes(Path.Combine(samples, "images", "part-013.jpg"))).Span));
        var sourceRef = $"s3://incoming-bucket/{ObjectKeyLayout.ImageKey("site-a-cam1", DateTimeOffset.UtcNow, uploadedSha, "jpg")}";
        var size = new ImageSize(640, 480);

        var answer = oracle.Answer(sourceRef, size);

        Assert.Null(without.Answer(sourceRef, size));
        Assert.NotNull(answer);
        Assert.Equal(YoloLabelOracle.ParseYolo(File.ReadAllLines(Path.Combine(samples, "labels", "part-013.txt")), size, "part-013.txt"), answer.Boxes);
    }

    [Fact]
    public void FromSampleSet_EverySampleImage_HasAParsableLabelFileWithKnownClasses()
    {
        var samples = SamplesDirectory();
        var classes = File.ReadAllLines(Path.Combine(samples, "classes.txt")).Where(l => l.Trim().Length > 0).ToArray();
        var oracle = YoloLabelOracle.FromSampleSet(samples);

        foreach (var image in Directory.EnumerateFiles(Path.Combine(samples, "images")))
        {
            var answer = oracle.Answer("s3://b/samples/" + Path.GetFileName(image), new ImageSize(640, 480));
            Assert.True(answer is not null, $"{Path.GetFileName(image)} has no label file");
            Assert.All(answer.Boxes, b => Assert.InRange(b.ClassId, 0, classes.Length - 1));
        }
    }
}
