using EdgeLabeling.Labeling.Batching;

namespace EdgeLabeling.Labeling.Tests.Batching;

public class CostAndCapacityTests
{
    private static readonly BudgetPolicy Tiered = new()
    {
        Tiers = [new(100, 0.10m), new(1_000, 0.05m), new(long.MaxValue, 0.01m)],
    };

    [Fact]
    public void JobSizeCap_Defaults_IsFiveLabelersSixHoursThreeDaysAtTwentySeconds()
    {
        // 5 × 6 h × 3 d × 3600 s ÷ 20 s = 16,200 images.
        Assert.Equal(16_200, new BatchingPolicy().JobSizeCap());
    }

    [Theory]
    [InlineData(5, 6, 3, 20, 1, 100_000, 16_200)]
    [InlineData(5, 6, 3, 20, 3, 100_000, 5_400)]
    [InlineData(1, 1, 1, 3600, 1, 100_000, 1)]
    [InlineData(2, 8, 0.5, 30, 1, 100_000, 960)]
    [InlineData(50, 24, 30, 1, 1, 100_000, 100_000)]
    [InlineData(5, 6, 3, 20, 1, 500, 500)]
    public void JobSizeCap_Configured_FollowsFormulaAndCeiling(int labelers, double hours, double days, double secondsPerImage, int workers, int ceiling, int expected)
    {
        var policy = new BatchingPolicy { Labelers = labelers, HoursPerDay = hours, TaskAvailabilityDays = days, SecondsPerImage = secondsPerImage, MaxItemsPerJob = ceiling };

        Assert.Equal(expected, policy.JobSizeCap(workers));
    }

    [Fact]
    public void Validate_TeamCannotFinishOneObject_NamesTheSettings()
    {
        var policy = new BatchingPolicy { Labelers = 1, HoursPerDay = 0.001, TaskAvailabilityDays = 0.001, SecondsPerImage = 600 };

        var ex = Assert.Throws<ArgumentException>(() => policy.Validate(1));
        Assert.Contains("SECONDS_PER_IMAGE", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 10, 1.00)]
    [InlineData(95, 10, 0.75)]
    [InlineData(100, 900, 45.00)]
    [InlineData(990, 20, 0.60)]
    [InlineData(0, 1_100, 56.00)]
    public void Forecast_AcrossTiers_SumsEachBand(long already, long objects, double expected)
    {
        Assert.Equal((decimal)expected, new CostForecaster(Tiered).Forecast(already, objects));
    }

    [Fact]
    public void Forecast_FreeObjects_AreNotCharged()
    {
        var f = new CostForecaster(Tiered with { FreeObjectsPerMonth = 50 });

        Assert.Equal(0m, f.Forecast(0, 50));
        Assert.Equal(1.00m, f.Forecast(40, 20));
        Assert.Equal(1.00m, f.Forecast(60, 10));
    }

    [Theory]
    [InlineData(0, 1.00, 1000, 10)]
    [InlineData(0, 1.05, 1000, 10)]
    [InlineData(95, 0.75, 1000, 10)]
    [InlineData(0, 0.09, 1000, 0)]
    [InlineData(0, 1000, 42, 42)]
    [InlineData(0, 0, 5, 0)]
    public void Affordable_IsLargestCountWithinRemaining(long already, double remaining, long max, long expected)
    {
        var f = new CostForecaster(Tiered);

        var n = f.Affordable(already, (decimal)remaining, max);

        Assert.Equal(expected, n);
        Assert.True(f.Forecast(already, n) <= (decimal)remaining);
        if (n < max)
        {
            Assert.True(f.Forecast(already, n + 1) > (decimal)remaining);
        }
    }

    [Fact]
    public void ParseList_ReadsBoundsAndPrices()
    {
        var tiers = PriceTier.ParseList("50000:0.08, 1000000:0.04, *:0.02");

        Assert.Equal([new PriceTier(50_000, 0.08m), new PriceTier(1_000_000, 0.04m), new PriceTier(long.MaxValue, 0.02m)], tiers);
    }

    [Fact]
    public void ParseList_InfAsUnboundedTier_IsAccepted()
    {
        Assert.Equal(long.MaxValue, PriceTier.ParseList("100:0.1,inf:0.05")[^1].UpToObjects);
    }

    [Theory]
    [InlineData("50000=0.08")]
    [InlineData(":0.08")]
    [InlineData("abc:0.08")]
    [InlineData("100:cheap")]
    public void ParseList_Malformed_NamesTheEntry(string text)
    {
        var ex = Assert.Throws<ArgumentException>(() => PriceTier.ParseList(text));
        Assert.Contains(text, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BudgetPolicyValidate_TiersWithoutUnboundedLast_Throws()
    {
        var policy = new BudgetPolicy { Tiers = [new(100, 0.1m)] };

        Assert.Throws<ArgumentException>(policy.Validate);
    }
}
