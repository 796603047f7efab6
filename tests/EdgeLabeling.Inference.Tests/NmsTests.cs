namespace EdgeLabeling.Inference.Tests;

public class NmsTests
{
    private static Candidate Box(int cls, float x, float y, float size, float score) => new(cls, x, y, x + size, y + size, score);

    [Fact]
    public void IoU_IdenticalBoxes_IsOne() => Assert.Equal(1f, Nms.IoU(Box(0, 10, 10, 20, 1), Box(0, 10, 10, 20, 1)), 6);

    [Fact]
    public void IoU_HalfOverlapHorizontally_IsOneThird() =>
        Assert.Equal(1f / 3f, Nms.IoU(Box(0, 0, 0, 10, 1), Box(0, 5, 0, 10, 1)), 6);

    [Fact]
    public void IoU_TouchingEdges_IsZero() => Assert.Equal(0f, Nms.IoU(Box(0, 0, 0, 10, 1), Box(0, 10, 0, 10, 1)));

    [Fact]
    public void Apply_OverlappingSameClass_KeepsHighestScore()
    {
        var kept = new List<Candidate>();
        Nms.Apply([Box(0, 0, 0, 10, 0.6f), Box(0, 1, 1, 10, 0.9f), Box(0, 2, 0, 10, 0.7f)], 0.45f, 100, kept);
        var only = Assert.Single(kept);
        Assert.Equal(0.9f, only.Score);
    }

    [Fact]
    public void Apply_OverlappingDifferentClasses_KeepsBoth()
    {
        var kept = new List<Candidate>();
        Nms.Apply([Box(0, 0, 0, 10, 0.6f), Box(1, 0, 0, 10, 0.9f)], 0.45f, 100, kept);
        Assert.Equal([1, 0], kept.Select(k => k.ClassId));
    }

    [Fact]
    public void Apply_OverlapBelowThreshold_KeepsBoth()
    {
        // IoU of these two is 1/3, under the 0.45 default.
        var kept = new List<Candidate>();
        Nms.Apply([Box(0, 0, 0, 10, 0.6f), Box(0, 5, 0, 10, 0.9f)], 0.45f, 100, kept);
        Assert.Equal(2, kept.Count);
    }

    [Fact]
    public void Apply_OverlapAboveLowerThreshold_SuppressesSecond()
    {
        var kept = new List<Candidate>();
        Nms.Apply([Box(0, 0, 0, 10, 0.6f), Box(0, 5, 0, 10, 0.9f)], 0.3f, 100, kept);
        Assert.Equal(0.9f, Assert.Single(kept).Score);
    }

    [Fact]
    public void Apply_MoreThanCap_ReturnsTopScoresOnly()
    {
        var candidates = Enumerable.Range(0, 50).Select(i => Box(0, i * 20, 0, 10, i / 100f)).ToList();
        var kept = new List<Candidate>();
        Nms.Apply(candidates, 0.45f, 5, kept);
        Assert.Equal([0.49f, 0.48f, 0.47f, 0.46f, 0.45f], kept.Select(k => k.Score));
    }

    [Fact]
    public void Apply_ResultIsSortedByScoreDescending()
    {
        var candidates = new List<Candidate> { Box(2, 100, 0, 10, 0.3f), Box(1, 0, 0, 10, 0.8f), Box(0, 50, 50, 10, 0.5f) };
        var kept = new List<Candidate>();
        Nms.Apply(candidates, 0.45f, 10, kept);
        Assert.Equal([0.8f, 0.5f, 0.3f], kept.Select(k => k.Score));
    }

    [Fact]
    public void Apply_ThresholdOutOfRange_ThrowsNamingParameter()
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => Nms.Apply([], 1.5f, 10, []));
        Assert.Equal("iouThreshold", ex.ParamName);
    }

    [Fact]
    public void Apply_Empty_ReturnsEmpty()
    {
        var kept = new List<Candidate> { Box(0, 0, 0, 1, 1) };
        Nms.Apply([], 0.45f, 10, kept);
        Assert.Empty(kept);
    }
}
