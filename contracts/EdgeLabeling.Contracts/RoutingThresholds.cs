using System.Globalization;

namespace EdgeLabeling.Contracts;

/// <summary>
/// The confidence thresholds of the edge router: the global auto-accept threshold, the per-class ones that override
/// it, and the lower edge of the uncertain band. One type with one validation (<see cref="Problems"/>) for every place
/// that accepts them: the routing JSON file, the component's options and the CDK config (cdk.json <c>routing</c>).
/// </summary>
/// <remarks>
/// <para>The rule: every threshold is in (0, 1]; <c>uncertainLow</c> is in [0, autoAcceptThreshold); every class
/// threshold is above <c>uncertainLow</c>. A detection is confident at or above its class's threshold, uncertain in
/// [uncertainLow, threshold), background below.</para>
/// <para>Why strict: a threshold of 0 makes every detection, however faint, an automatic label; a lower bound equal
/// to a threshold empties the uncertain band, so no image would ever reach people for an uncertain box, which is the
/// reason the product exists. Both are far more likely typos than intent, and the deployment (cdk.json) and the
/// device's options already refused them while only the routing file accepted them; the file now refuses them too.</para>
/// </remarks>
public sealed record RoutingThresholds
{
    /// <summary>Default global auto-accept threshold.</summary>
    public const double DefaultAutoAcceptThreshold = 0.5;

    /// <summary>Default lower edge of the uncertain band.</summary>
    public const double DefaultUncertainLow = 0.25;

    private static readonly IReadOnlyDictionary<string, double> NoClassThresholds = new Dictionary<string, double>(StringComparer.Ordinal);

    /// <summary>A detection is confident when its score is at least this (unless its class has its own threshold).</summary>
    public double AutoAcceptThreshold { get; init; } = DefaultAutoAcceptThreshold;

    /// <summary>Scores below this are background; from here up to the class's threshold a detection is uncertain.</summary>
    public double UncertainLow { get; init; } = DefaultUncertainLow;

    /// <summary>Per-class auto-accept thresholds by class name; they override <see cref="AutoAcceptThreshold"/>.</summary>
    public IReadOnlyDictionary<string, double> ClassThresholds { get; init; } = NoClassThresholds;

    /// <summary>The auto-accept threshold of a class name (its own, or the global one).</summary>
    public double ThresholdFor(string className) =>
        ClassThresholds.TryGetValue(className, out var t) ? t : AutoAcceptThreshold;

    /// <summary>
    /// Every rule the values break, one message each naming the field (camelCase, after <paramref name="prefix"/>,
    /// e.g. <c>"routing."</c>) and the value; empty when the thresholds are usable.
    /// </summary>
    public IReadOnlyList<string> Problems(string prefix = "")
    {
        var problems = new List<string>();
        if (!IsThreshold(AutoAcceptThreshold))
        {
            problems.Add($"{prefix}autoAcceptThreshold: {Format(AutoAcceptThreshold)} is not in (0, 1]");
        }

        if (!double.IsFinite(UncertainLow) || UncertainLow < 0 || !(UncertainLow < AutoAcceptThreshold))
        {
            problems.Add($"{prefix}uncertainLow: {Format(UncertainLow)} must be at least 0 and below autoAcceptThreshold ({Format(AutoAcceptThreshold)})");
        }

        if (ClassThresholds is null)
        {
            problems.Add($"{prefix}classThresholds: must be an object of class name to threshold");
            return problems;
        }

        foreach (var (name, value) in ClassThresholds.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (ClassNameProblem(name) is { } nameProblem)
            {
                problems.Add($"{prefix}classThresholds: class name '{name}' {nameProblem}");
            }
            else if (!IsThreshold(value))
            {
                problems.Add($"{prefix}classThresholds.{name}: {Format(value)} is not in (0, 1]");
            }
            else if (!(value > UncertainLow))
            {
                problems.Add($"{prefix}classThresholds.{name}: {Format(value)} must be above uncertainLow ({Format(UncertainLow)})");
            }
        }

        return problems;
    }

    /// <summary>
    /// The per-class thresholds in the flat form the Greengrass recipe passes on the component's command line:
    /// <c>class=threshold,class=threshold</c>, ordered by class name, numbers round-tripping.
    /// </summary>
    public string FormatClassThresholds() =>
        string.Join(',', ClassThresholds.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={Format(kv.Value)}"));

    /// <summary>
    /// Parses the flat form of <see cref="FormatClassThresholds"/> (whitespace around entries ignored); throws
    /// <see cref="FormatException"/> naming the entry that is not <c>class=number</c> or a class listed twice.
    /// Ranges are checked by <see cref="Problems"/>, like every other source of thresholds.
    /// </summary>
    public static IReadOnlyDictionary<string, double> ParseClassThresholds(string value)
    {
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var entry in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = entry.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || !double.TryParse(entry[(eq + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var threshold))
            {
                throw new FormatException($"'{entry}' is not class=threshold");
            }

            var name = entry[..eq].Trim();
            if (!result.TryAdd(name, threshold))
            {
                throw new FormatException($"class '{name}' is listed twice");
            }
        }

        return result;
    }

    /// <summary>Value equality over the class thresholds' content, not the dictionary's reference.</summary>
    public bool Equals(RoutingThresholds? other) =>
        other is not null
        && AutoAcceptThreshold.Equals(other.AutoAcceptThreshold)
        && UncertainLow.Equals(other.UncertainLow)
        && ClassThresholds.Count == other.ClassThresholds.Count
        && ClassThresholds.All(kv => other.ClassThresholds.TryGetValue(kv.Key, out var v) && v.Equals(kv.Value));

    /// <inheritdoc />
    public override int GetHashCode()
    {
        // Order-independent over the class thresholds, so equal values hash alike whatever the insertion order.
        var classes = 0;
        foreach (var (name, value) in ClassThresholds)
        {
            classes ^= HashCode.Combine(StringComparer.Ordinal.GetHashCode(name), value);
        }

        return HashCode.Combine(AutoAcceptThreshold, UncertainLow, ClassThresholds.Count, classes);
    }

    /// <summary>
    /// Null when a class name can travel in the flat form, or why not: the recipe passes it inside single quotes
    /// and the form separates entries with ',' and name from value with '='.
    /// </summary>
    private static string? ClassNameProblem(string name) =>
        string.IsNullOrWhiteSpace(name) ? "is empty"
        : name.Trim().Length != name.Length ? "has leading or trailing spaces"
        : name.AsSpan().IndexOfAny("=,'") >= 0 ? "must not contain '=', ',' or a quote"
        : null;

    private static bool IsThreshold(double value) => double.IsFinite(value) && value is > 0 and <= 1;

    private static string Format(double d) => d.ToString("R", CultureInfo.InvariantCulture);
}
