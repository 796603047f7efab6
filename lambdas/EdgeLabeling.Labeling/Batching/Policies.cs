using System.Globalization;

namespace EdgeLabeling.Labeling.Batching;

/// <summary>When a job is made and how big it may be.</summary>
public sealed record BatchingPolicy
{
    /// <summary>A job is made once this many items are pending (N).</summary>
    public int MinItems { get; init; } = 250;

    /// <summary>…or once the oldest pending item has waited this long (T).</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromHours(24);

    public int Labelers { get; init; } = 5;
    public double HoursPerDay { get; init; } = 6;

    /// <summary>Tasks expire after this many days (TaskAvailabilityLifetimeInSeconds).</summary>
    public double TaskAvailabilityDays { get; init; } = 3;

    public double SecondsPerImage { get; init; } = 20;

    /// <summary>Hard ceiling regardless of team capacity (Ground Truth allows 100,000 objects per job).</summary>
    public int MaxItemsPerJob { get; init; } = 100_000;

    /// <summary>Jobs one planner run may create (keeps a run well inside the Lambda timeout).</summary>
    public int MaxJobsPerRun { get; init; } = 5;

    public string JobNamePrefix { get; init; } = "edgelabel";

    /// <summary>
    /// A batch still unfinished after this long belongs to a run that died; younger ones may belong to a
    /// run still in progress and are left alone. Longer than the batch function's timeout (≤ 15 min).
    /// </summary>
    public TimeSpan ResumeAfter { get; init; } = TimeSpan.FromMinutes(16);

    /// <summary>A half pair (image without sidecar or the reverse) older than this is reported by every run.</summary>
    public TimeSpan HalfPairAlarmAfter { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// An item that came back unlabeled from this many completed jobs is set aside for an operator
    /// instead of going to people again (0: never set aside).
    /// </summary>
    public int SetAsideAfterReturns { get; init; } = 3;

    /// <summary>Wait after the first failed job creation; it doubles with each further consecutive failure.</summary>
    public TimeSpan CreationBackoffInitial { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>Longest wait between job creation attempts while creations keep failing.</summary>
    public TimeSpan CreationBackoffMax { get; init; } = TimeSpan.FromHours(24);

    /// <summary>
    /// Objects the team can finish before tasks expire:
    /// labelers × hours/day × availability days × 3600 ÷ (seconds per image × workers per object).
    /// </summary>
    public int JobSizeCap(int workersPerObject = 1)
    {
        var seconds = Labelers * HoursPerDay * TaskAvailabilityDays * 3600.0;
        var perObject = SecondsPerImage * Math.Max(1, workersPerObject);
        var cap = (long)Math.Floor(seconds / perObject);
        return (int)Math.Clamp(cap, 0, MaxItemsPerJob);
    }

    public void Validate(int workersPerObject)
    {
        if (MinItems < 1)
        {
            throw new ArgumentException($"BATCH_MIN_ITEMS must be at least 1, is {MinItems}");
        }

        if (MaxAge <= TimeSpan.Zero)
        {
            throw new ArgumentException($"BATCH_MAX_AGE_MINUTES must be positive, is {MaxAge.TotalMinutes}");
        }

        if (Labelers < 1 || HoursPerDay <= 0 || HoursPerDay > 24 || TaskAvailabilityDays <= 0 || SecondsPerImage <= 0)
        {
            throw new ArgumentException("LABELERS, LABELER_HOURS_PER_DAY (0-24], TASK_AVAILABILITY_DAYS and SECONDS_PER_IMAGE must be positive");
        }

        if (workersPerObject is < 1 or > 9)
        {
            throw new ArgumentException($"WORKERS_PER_OBJECT must be 1-9, is {workersPerObject}");
        }

        if (SetAsideAfterReturns < 0)
        {
            throw new ArgumentException($"SET_ASIDE_AFTER_RETURNS must be 0 (never) or more, is {SetAsideAfterReturns}");
        }

        if (CreationBackoffInitial <= TimeSpan.Zero || CreationBackoffMax < CreationBackoffInitial)
        {
            throw new ArgumentException("the job creation back-off must start above zero and its maximum must not be below its start");
        }

        if (MaxItemsPerJob is < 1 or > 100_000)
        {
            throw new ArgumentException($"MAX_ITEMS_PER_JOB must be 1-100000, is {MaxItemsPerJob}");
        }

        if (JobSizeCap(workersPerObject) < 1)
        {
            throw new ArgumentException("the team cannot finish even one object before tasks expire: raise LABELERS, hours, days or lower SECONDS_PER_IMAGE");
        }

        if (MaxJobsPerRun < 1)
        {
            throw new ArgumentException($"MAX_JOBS_PER_RUN must be at least 1, is {MaxJobsPerRun}");
        }

        if (!Contracts.GroundTruthManifest.IsValidName(JobNamePrefix, 30))
        {
            throw new ArgumentException($"JOB_NAME_PREFIX '{JobNamePrefix}' must be 1-30 letters, digits or hyphens, starting and ending with a letter or digit");
        }
    }
}

/// <summary>One price band: objects up to <see cref="UpToObjects"/> (cumulative within the month) cost <see cref="UsdPerObject"/> each.</summary>
public readonly record struct PriceTier(long UpToObjects, decimal UsdPerObject)
{
    /// <summary>"50000:0.08,1000000:0.04,*:0.02" — upper bound (cumulative objects per month, * or inf for no bound) and USD per object.</summary>
    public static IReadOnlyList<PriceTier> ParseList(string text)
    {
        var tiers = new List<PriceTier>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var i = part.IndexOf(':', StringComparison.Ordinal);
            var unbounded = i > 0 && part[..i] is "*" or "inf";
            if (i <= 0
                || !(unbounded || long.TryParse(part[..i], NumberStyles.Integer, CultureInfo.InvariantCulture, out _))
                || !decimal.TryParse(part[(i + 1)..], NumberStyles.Number, CultureInfo.InvariantCulture, out var price))
            {
                throw new ArgumentException($"PRICE_TIERS entry '{part}' is not '<objects|*>:<usd per object>'", "PRICE_TIERS");
            }

            tiers.Add(new PriceTier(unbounded ? long.MaxValue : long.Parse(part[..i], CultureInfo.InvariantCulture), price));
        }

        return tiers;
    }
}

/// <summary>The monthly labeling budget and the price list used to forecast each job's bill.</summary>
public sealed record BudgetPolicy
{
    public decimal MonthlyBudgetUsd { get; init; } = 100m;

    /// <summary>
    /// Defaults are the commonly quoted Ground Truth prices (not verified against the live pricing page):
    /// $0.08 per object for the first 50,000 a month, $0.04 up to 1,000,000, $0.02 beyond.
    /// </summary>
    public IReadOnlyList<PriceTier> Tiers { get; init; } = [new(50_000, 0.08m), new(1_000_000, 0.04m), new(long.MaxValue, 0.02m)];

    /// <summary>Objects per month that cost nothing (the free tier gives 500 in the first two months; 0 by default).</summary>
    public long FreeObjectsPerMonth { get; init; }

    public void Validate()
    {
        if (MonthlyBudgetUsd < 0)
        {
            throw new ArgumentException($"MONTHLY_BUDGET_USD must not be negative, is {MonthlyBudgetUsd}");
        }

        if (Tiers.Count == 0 || Tiers[^1].UpToObjects != long.MaxValue)
        {
            throw new ArgumentException("PRICE_TIERS must end with an unbounded tier ('*:<price>')");
        }

        for (var i = 0; i < Tiers.Count; i++)
        {
            if (Tiers[i].UsdPerObject < 0 || (i > 0 && Tiers[i].UpToObjects <= Tiers[i - 1].UpToObjects))
            {
                throw new ArgumentException("PRICE_TIERS must have increasing bounds and non-negative prices");
            }
        }

        if (FreeObjectsPerMonth < 0)
        {
            throw new ArgumentException("FREE_OBJECTS_PER_MONTH must not be negative");
        }
    }
}
