using EdgeLabeling.Cli.Label;
using EdgeLabeling.Inference;

namespace EdgeLabeling.Cli.Tests.Label;

/// <summary>How many model runs `edgelabel label` overlaps when not told: two only for a small model on two or more cores.</summary>
public class AutoConcurrentRunsTests
{
    [Theory]
    [InlineData(320, 320, 2, 2)]
    [InlineData(416, 416, 2, 2)]
    [InlineData(320, 320, 8, 2)]
    [InlineData(320, 320, 1, 1)]
    [InlineData(640, 640, 2, 1)]
    [InlineData(640, 384, 4, 1)]
    [InlineData(416, 417, 2, 1)]
    public void AutoConcurrentRuns_ByInputSizeAndCores(int width, int height, int cores, int expected)
    {
        var model = new DetectorInfo("m.onnx", new string('a', 64), width, height, ["part"], "yolov8");

        Assert.Equal(expected, LabelRunner.AutoConcurrentRuns(model, cores));
    }
}
