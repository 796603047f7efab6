using System.Globalization;

namespace EdgeLabeling.Labeling.Fleet;

/// <summary>
/// Settings of the fleet view, read from environment variables the infrastructure sets on the fleet
/// functions: <c>FLEET_TABLE_NAME</c> (DynamoDB; unset uses SQLite at <c>FLEET_DB_PATH</c>),
/// <c>FLEET_SILENT_HOURS</c>, <c>FLEET_QUEUE_GROWING_HOURS</c> and <c>FLEET_MIN_FREE_DISK_BYTES</c>.
/// </summary>
public sealed record FleetOptions
{
    public string? TableName { get; init; }

    public string DbPath { get; init; } = Path.Combine(Path.GetTempPath(), "edgelabel-fleet.db");

    public FleetThresholds Thresholds { get; init; } = FleetThresholds.Default;

    public static FleetOptions FromEnvironment(Func<string, string?>? get = null)
    {
        get ??= Environment.GetEnvironmentVariable;
        string? Str(string name) => get(name) is { Length: > 0 } v ? v.Trim() : null;
        double Number(string name, double fallback)
        {
            if (Str(name) is not { } raw)
            {
                return fallback;
            }

            return double.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && v > 0 && double.IsFinite(v)
                ? v
                : throw new ArgumentException($"environment variable {name}='{raw}' must be a positive number", name);
        }

        var d = FleetThresholds.Default;
        return new FleetOptions
        {
            TableName = Str("FLEET_TABLE_NAME"),
            DbPath = Str("FLEET_DB_PATH") ?? new FleetOptions().DbPath,
            Thresholds = new FleetThresholds(
                TimeSpan.FromHours(Number("FLEET_SILENT_HOURS", d.Silent.TotalHours)),
                TimeSpan.FromHours(Number("FLEET_QUEUE_GROWING_HOURS", d.QueueGrowing.TotalHours)),
                (long)Number("FLEET_MIN_FREE_DISK_BYTES", d.MinFreeDiskBytes)),
        };
    }
}

/// <summary>When a device is flagged: silent longer than <see cref="Silent"/>, queue growing for <see cref="QueueGrowing"/>, free disk below <see cref="MinFreeDiskBytes"/>.</summary>
public sealed record FleetThresholds(TimeSpan Silent, TimeSpan QueueGrowing, long MinFreeDiskBytes)
{
    public static readonly FleetThresholds Default = new(TimeSpan.FromHours(6), TimeSpan.FromHours(4), 512L * 1024 * 1024);
}
