using EdgeLabeling.Labeling.Batching;

namespace EdgeLabeling.Labeling.Estimation;

/// <summary>What the estimate is asked about; every assumption is an input with a stated default.</summary>
public sealed record EstimateInput
{
    public required long Images { get; init; }

    /// <summary>Share of images routed to people (review + audit), 0..1.</summary>
    public required double ReviewShare { get; init; }

    public int Labelers { get; init; } = 5;
    public double HoursPerDay { get; init; } = 6;

    /// <summary>Seconds a person needs to adjust the model's boxes on one image.</summary>
    public double AdjustSecondsPerImage { get; init; } = 20;

    /// <summary>Seconds to draw every box from scratch (the all-by-hand baseline).</summary>
    public double DrawSecondsPerImage { get; init; } = 35;

    public int WorkersPerObject { get; init; } = 1;
    public double TaskAvailabilityDays { get; init; } = 3;
    public long AverageImageBytes { get; init; } = 250_000;

    /// <summary>
    /// Sidecar JSON per reviewed image, and one auto-label line per auto-labeled image, as uploaded: both travel
    /// gzip-compressed (measured on the sample set: ~630 B per sidecar, ~180 B per line in a batch).
    /// </summary>
    public long SidecarBytes { get; init; } = 650;
    public long AutoLabelLineBytes { get; init; } = 200;

    public required BudgetPolicy Budget { get; init; }

    public void Validate()
    {
        if (Images < 1)
        {
            throw new ArgumentException($"--images {Images} must be at least 1");
        }

        if (!(ReviewShare is >= 0 and <= 1))
        {
            throw new ArgumentException($"review share {ReviewShare} must be between 0 and 1");
        }

        if (Labelers < 1 || !(HoursPerDay is > 0 and <= 24) || !(AdjustSecondsPerImage > 0) || !(DrawSecondsPerImage > 0) || WorkersPerObject is < 1 or > 9 || !(TaskAvailabilityDays > 0) || AverageImageBytes < 0)
        {
            throw new ArgumentException("labelers ≥ 1, hours per day in (0, 24], seconds per image > 0, workers per object 1-9, availability days > 0 and image bytes ≥ 0 are required");
        }

        Budget.Validate();
    }
}

public sealed record Scenario(string Name, long ObjectsToPeople, decimal GroundTruthUsd, double LabelerHours, double CalendarDays, long UploadBytes, int Jobs, IReadOnlyList<int> JobSizes);

public sealed record Estimate(EstimateInput Input, int JobSizeCap, Scenario EdgeLabeling, Scenario AllByHand)
{
    public decimal SavedUsd => AllByHand.GroundTruthUsd - EdgeLabeling.GroundTruthUsd;
    public double SavedHours => AllByHand.LabelerHours - EdgeLabeling.LabelerHours;
}

/// <summary>
/// Forecasts the money, people's hours, calendar days, bandwidth and jobs of labeling a backlog with
/// EdgeLabeling (only uncertain images go to people, as pre-labels to adjust) against labeling every
/// image by hand. Prices use the same <see cref="CostForecaster"/> the batcher uses to guard the budget.
/// </summary>
public static class LabelingEstimator
{
    /// <summary>Working days a month assumed when spreading a backlog over months.</summary>
    public const double WorkingDaysPerMonth = 21;

    public static Estimate Run(EstimateInput input)
    {
        input.Validate();
        var policy = new BatchingPolicy
        {
            Labelers = input.Labelers,
            HoursPerDay = input.HoursPerDay,
            SecondsPerImage = input.AdjustSecondsPerImage,
            TaskAvailabilityDays = input.TaskAvailabilityDays,
        };
        var cap = policy.JobSizeCap(input.WorkersPerObject);
        var forecaster = new CostForecaster(input.Budget);

        var toPeople = (long)Math.Round(input.Images * input.ReviewShare);
        var auto = input.Images - toPeople;
        var edge = Build("EdgeLabeling", toPeople, input.AdjustSecondsPerImage, input, forecaster, cap,
            (toPeople * (input.AverageImageBytes + input.SidecarBytes)) + (auto * input.AutoLabelLineBytes));

        // Drawing from scratch is slower, so the by-hand job cap is smaller for the same team and expiry.
        var handCap = (policy with { SecondsPerImage = input.DrawSecondsPerImage }).JobSizeCap(input.WorkersPerObject);
        var hand = Build("all by hand", input.Images, input.DrawSecondsPerImage, input, forecaster, handCap, input.Images * input.AverageImageBytes);
        return new Estimate(input, cap, edge, hand);
    }

    private static Scenario Build(string name, long objects, double secondsPerImage, EstimateInput input, CostForecaster forecaster, int cap, long bytes)
    {
        var hours = objects * secondsPerImage * input.WorkersPerObject / 3600.0;
        var days = hours / (input.Labelers * input.HoursPerDay);
        var sizes = new List<int>();
        for (var left = objects; left > 0; left -= cap)
        {
            sizes.Add((int)Math.Min(cap, left));
        }

        return new Scenario(name, objects, MonthlyCost(objects, secondsPerImage, input, forecaster), hours, days, bytes, sizes.Count, sizes);
    }

    /// <summary>
    /// Ground Truth bills per labeled object with tiers that reset monthly; the team can only label so many a
    /// month, so the backlog is spread over the months it takes and each month is priced from zero.
    /// </summary>
    private static decimal MonthlyCost(long objects, double secondsPerImage, EstimateInput input, CostForecaster forecaster)
    {
        var perMonth = (long)Math.Max(1, Math.Floor(input.Labelers * input.HoursPerDay * WorkingDaysPerMonth * 3600 / (secondsPerImage * input.WorkersPerObject)));
        decimal total = 0;
        for (var left = objects; left > 0; left -= perMonth)
        {
            total += forecaster.Forecast(0, Math.Min(perMonth, left));
        }

        return total;
    }
}
