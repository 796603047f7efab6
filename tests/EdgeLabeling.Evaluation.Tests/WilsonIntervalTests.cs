using EdgeLabeling.Evaluation;

namespace EdgeLabeling.Evaluation.Tests;

public sealed class WilsonIntervalTests
{
    [Theory]
    [InlineData(10, 10, 0.7225, 1.0)]
    [InlineData(0, 10, 0.0, 0.2775)]
    [InlineData(95, 100, 0.8882, 0.9785)]
    public void Of_KnownProportions_MatchesTheWilsonFormula(long successes, long n, double lower, double upper)
    {
        var interval = WilsonInterval.Of(successes, n);

        Assert.Equal(lower, interval.Lower, 3);
        Assert.Equal(upper, interval.Upper, 3);
    }

    [Fact]
    public void Of_NoSample_IsTheWholeRange() => Assert.Equal(new WilsonInterval(0, 1), WilsonInterval.Of(0, 0));

    [Fact]
    public void Of_MoreSuccessesThanTrials_Throws() => Assert.Throws<ArgumentOutOfRangeException>(() => WilsonInterval.Of(3, 2));

    [Fact]
    public void Of_AgreesWithTheCalibratorsLowerBound() =>
        Assert.Equal(ThresholdCalibrator.WilsonLowerBound(37, 40, 1.5), WilsonInterval.Of(37, 40, 1.5).Lower, 10);
}
