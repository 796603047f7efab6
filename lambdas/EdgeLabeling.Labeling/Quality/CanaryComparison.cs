using System.Globalization;

namespace EdgeLabeling.Labeling.Quality;

/// <summary>One class's rows for the canary model and the fleet model.</summary>
public sealed record ClassComparison(string Class, PrecisionRow? Canary, PrecisionRow? Fleet, bool Worse);

/// <summary>"promote" or "hold" for a canary model, with the rows and every reason to hold.</summary>
public sealed record CanaryVerdict(bool Promote, PrecisionRow Canary, PrecisionRow? Fleet, IReadOnlyList<ClassComparison> Classes, IReadOnlyList<string> Reasons)
{
    public string Decision => Promote ? "promote" : "hold";
}

/// <summary>
/// Whether the canary model's automatic labels are at least as good as the fleet model's, from the audits of one
/// production-precision window. Promote only when all hold: the canary has at least MinBoxes audited boxes; its Wilson
/// lower bound meets the target precision (when one is set); its precision is not below the fleet model's Wilson lower
/// bound, overall and for every class where both have MinBoxes audited boxes. Anything else is "hold", naming why.
/// </summary>
public static class CanaryComparison
{
    /// <summary>The one model SHA-256 in the report that starts with <paramref name="prefix"/> (at least 8 hex digits).</summary>
    public static string ResolveModel(ProductionPrecisionReport report, string prefix, string what)
    {
        ArgumentNullException.ThrowIfNull(report);
        if (prefix.Length < 8 || !prefix.All(char.IsAsciiHexDigit))
        {
            throw new ArgumentException($"{what} '{prefix}' must be at least 8 hex digits of the model's SHA-256");
        }

        var matches = report.ByModel.Select(r => r.Model!).Where(m => m.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)).Distinct(StringComparer.Ordinal).ToList();
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new ArgumentException($"{what} '{prefix}' has no audited boxes between {report.From:yyyy-MM-dd} and {report.To:yyyy-MM-dd} (models with audits: {Known(report)})"),
            _ => throw new ArgumentException($"{what} '{prefix}' matches {matches.Count} models ({string.Join(", ", matches.Select(ProductionPrecision.ShortModel))}); give more digits"),
        };
    }

    /// <summary>Compares <paramref name="canaryModel"/> with <paramref name="fleetModel"/>, or with the model with the most audited boxes besides the canary.</summary>
    public static CanaryVerdict Compare(ProductionPrecisionReport report, string canaryModel, string? fleetModel)
    {
        ArgumentNullException.ThrowIfNull(report);
        var canary = report.ByModel.Single(r => r.Model == canaryModel);
        var fleet = fleetModel is null
            ? report.ByModel.Where(r => r.Model != canaryModel).OrderByDescending(r => r.ModelBoxes).ThenBy(r => r.Model, StringComparer.Ordinal).FirstOrDefault()
            : report.ByModel.Single(r => r.Model == fleetModel);
        var reasons = new List<string>();
        if (!canary.Enough)
        {
            reasons.Add($"the canary model has {canary.ModelBoxes} audited boxes, fewer than the {report.MinBoxes} needed (wait for more audits, or raise routing.auditRate for the canary period)");
        }
        else
        {
            if (report.TargetPrecision is { } target && canary.PrecisionLower < target)
            {
                reasons.Add($"the canary's precision lower bound {P(canary.PrecisionLower)} is below the target {P(target)}");
            }

            if (fleet is null)
            {
                reasons.Add("no other model has audits in the window to compare with (give --fleet-model or widen --window-days)");
            }
            else if (fleet.Enough && canary.Precision < fleet.PrecisionLower)
            {
                reasons.Add($"the canary's precision {P(canary.Precision)} is below the fleet model's interval [{P(fleet.PrecisionLower)}, {P(fleet.PrecisionUpper)}]");
            }
            else if (!fleet.Enough)
            {
                reasons.Add($"the fleet model has {fleet.ModelBoxes} audited boxes, fewer than the {report.MinBoxes} needed to compare with");
            }
        }

        var classes = new List<ClassComparison>();
        foreach (var name in report.ByClassAndModel.Select(r => r.Class!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal))
        {
            var c = report.ByClassAndModel.FirstOrDefault(r => r.Class == name && r.Model == canaryModel);
            var f = fleet is null ? null : report.ByClassAndModel.FirstOrDefault(r => r.Class == name && r.Model == fleet.Model);
            var worse = c is { Enough: true } && f is { Enough: true } && c.Precision < f.PrecisionLower;
            if (worse)
            {
                reasons.Add($"class '{name}': the canary's precision {P(c!.Precision)} is below the fleet model's interval [{P(f!.PrecisionLower)}, {P(f.PrecisionUpper)}]");
            }

            classes.Add(new ClassComparison(name, c, f, worse));
        }

        return new CanaryVerdict(reasons.Count == 0, canary, fleet, classes, reasons);
    }

    private static string Known(ProductionPrecisionReport report) =>
        report.ByModel.Count == 0 ? "none" : string.Join(", ", report.ByModel.Select(r => ProductionPrecision.ShortModel(r.Model!)));

    private static string P(double? v) => v is { } x ? (x * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%" : "n/a";
}
