namespace EdgeLabeling.Evaluation;

/// <summary>
/// Wilson score interval of a proportion (successes out of n). Unlike the normal approximation it stays
/// inside [0, 1] and is honest about small samples: 10 of 10 correct gives a lower bound near 0.72 at z = 1.96,
/// not 1.0, which is why an alarm on the lower bound does not fire on luck and does not stay quiet on too few audits.
/// </summary>
public readonly record struct WilsonInterval(double Lower, double Upper)
{
    /// <summary>z of a two-sided 95 % interval.</summary>
    public const double Z95 = 1.959963984540054;

    /// <summary>The interval; [0, 1] when n is 0 (nothing is known).</summary>
    public static WilsonInterval Of(long successes, long n, double z = Z95)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        if (successes < 0 || successes > n)
        {
            throw new ArgumentOutOfRangeException(nameof(successes), $"successes {successes} must be within [0, {n}]");
        }

        if (n == 0)
        {
            return new WilsonInterval(0, 1);
        }

        var p = (double)successes / n;
        var z2 = z * z;
        var centre = p + (z2 / (2.0 * n));
        var margin = z * Math.Sqrt((p * (1 - p) / n) + (z2 / (4.0 * n * n)));
        var denominator = 1 + (z2 / n);
        return new WilsonInterval(Math.Max(0, (centre - margin) / denominator), Math.Min(1, (centre + margin) / denominator));
    }
}
