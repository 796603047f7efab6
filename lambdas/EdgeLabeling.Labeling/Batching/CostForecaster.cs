namespace EdgeLabeling.Labeling.Batching;

/// <summary>
/// Forecasts a job's Ground Truth bill. The fee is per labeled object, tiered by how many objects
/// were already labeled this month, so a forecast depends on the month's count so far.
/// </summary>
public sealed class CostForecaster(BudgetPolicy policy)
{
    /// <summary>The cost of labeling objects number <paramref name="alreadyThisMonth"/>+1 … +<paramref name="objects"/> of the month.</summary>
    public decimal Forecast(long alreadyThisMonth, long objects)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(alreadyThisMonth);
        ArgumentOutOfRangeException.ThrowIfNegative(objects);
        decimal total = 0;
        var from = alreadyThisMonth;
        var to = alreadyThisMonth + objects;
        var free = policy.FreeObjectsPerMonth;
        if (from < free)
        {
            from = Math.Min(free, to);
        }

        long lower = 0;
        foreach (var tier in policy.Tiers)
        {
            var a = Math.Max(from, lower);
            var b = Math.Min(to, tier.UpToObjects);
            if (b > a)
            {
                total += (b - a) * tier.UsdPerObject;
            }

            lower = tier.UpToObjects;
            if (lower >= to)
            {
                break;
            }
        }

        return total;
    }

    /// <summary>The most objects (≤ <paramref name="max"/>) whose forecast fits in <paramref name="remainingUsd"/>.</summary>
    public long Affordable(long alreadyThisMonth, decimal remainingUsd, long max)
    {
        if (max <= 0 || remainingUsd < 0)
        {
            return 0;
        }

        if (Forecast(alreadyThisMonth, max) <= remainingUsd)
        {
            return max;
        }

        // Cost grows monotonically with the count, so bisect.
        long lo = 0, hi = max;
        while (lo < hi)
        {
            var mid = lo + ((hi - lo + 1) / 2);
            if (Forecast(alreadyThisMonth, mid) <= remainingUsd)
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return lo;
    }
}
