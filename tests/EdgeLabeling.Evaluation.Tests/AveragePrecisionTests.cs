using EdgeLabeling.Contracts;
using EdgeLabeling.Evaluation;

namespace EdgeLabeling.Evaluation.Tests;

public class AveragePrecisionTests
{
    private static PixelBox Box(int c, double x, double y, double s = 1.0) => new(c, x, y, 10, 10, s);

    [Fact]
    public void Map_WhenPredictionsEqualTruth_IsOne()
    {
        var ap = new AveragePrecision(2);
        var truth = new[] { Box(0, 0, 0), Box(1, 50, 50) };
        ap.Add(truth.Select(b => b with { Confidence = 0.9 }).ToList(), truth);
        Assert.Equal(1.0, ap.Map(), 9);
    }

    [Fact]
    public void ClassAp_WhenFalsePositiveRanksFirst_UsesPrecisionEnvelope()
    {
        // Ranked: FP (0.9), TP (0.8), TP (0.7) over 2 truths → precision 0, 1/2, 2/3 at recall 0, .5, 1.
        // Envelope: 2/3 everywhere → AP = 2/3.
        var ap = new AveragePrecision(1);
        var truth = new[] { Box(0, 0, 0), Box(0, 100, 100) };
        ap.Add([Box(0, 300, 300, 0.9), Box(0, 0, 0, 0.8), Box(0, 100, 100, 0.7)], truth);
        Assert.Equal(2.0 / 3.0, ap.ClassAp(0), 9);
    }

    [Fact]
    public void ClassAp_WhenObjectMissed_CapsAtRecall()
    {
        var ap = new AveragePrecision(1);
        ap.Add([Box(0, 0, 0, 0.9)], [Box(0, 0, 0), Box(0, 100, 100)]);
        Assert.Equal(0.5, ap.ClassAp(0), 9);
    }

    [Fact]
    public void Map_IgnoresClassesWithoutTruth()
    {
        var ap = new AveragePrecision(3);
        ap.Add([Box(0, 0, 0, 0.9)], [Box(0, 0, 0)]);
        Assert.True(double.IsNaN(ap.ClassAp(2)));
        Assert.Equal(1.0, ap.Map(), 9);
    }

    [Fact]
    public void Match_WhenClassDiffers_IsFalsePositive()
    {
        var tp = GreedyMatcher.Match([Box(1, 0, 0, 0.9)], [Box(0, 0, 0)], 0.5);
        Assert.False(tp[0]);
    }

    [Fact]
    public void Match_TwoPredictionsOneTruth_OnlyHigherScoreMatches()
    {
        var tp = GreedyMatcher.Match([Box(0, 1, 1, 0.6), Box(0, 0, 0, 0.9)], [Box(0, 0, 0)], 0.5);
        Assert.Equal([false, true], tp);
    }

    [Fact]
    public void IoU_HalfOverlap_IsOneThird()
    {
        Assert.Equal(1.0 / 3.0, BoxMath.IoU(new PixelBox(0, 0, 0, 10, 10, 1), new PixelBox(0, 5, 0, 10, 10, 1)), 9);
    }
}

public class YoloLabelFileTests
{
    [Fact]
    public void Parse_ValidLine_MapsToPixels()
    {
        var boxes = YoloLabelFile.Parse(["1 0.5 0.25 0.2 0.1"], new ImageSize(200, 100), 3, "a.txt");
        var b = Assert.Single(boxes);
        Assert.Equal(1, b.ClassId);
        Assert.Equal(80, b.Left, 9);
        Assert.Equal(20, b.Top, 9);
        Assert.Equal(40, b.Width, 9);
        Assert.Equal(10, b.Height, 9);
    }

    [Theory]
    [InlineData("0 0.5 0.5 0.1", "expected 'class cx cy w h'")]
    [InlineData("7 0.5 0.5 0.1 0.1", "class '7' is not an id in 0..2")]
    [InlineData("0 0.5 nan 0.1 0.1", "'nan' is not a normalized coordinate")]
    [InlineData("0 0.5 1.5 0.1 0.1", "'1.5' is not a normalized coordinate")]
    public void Parse_BadLine_NamesFileLineAndProblem(string line, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => YoloLabelFile.Parse(["", line], new ImageSize(10, 10), 3, "x.txt"));
        Assert.Contains("x.txt:2", ex.Message);
        Assert.Contains(expected, ex.Message);
    }
}
