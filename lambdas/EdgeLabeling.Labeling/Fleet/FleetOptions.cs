using System.Globalization;
using EdgeLabeling.Contracts;

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

        if ((Str(LambdaEnvironment.LambdaFunctionName) ?? Str(LambdaEnvironment.LambdaExecutionEnv)) is not null && Str(LambdaEnvironment.FleetTableName) is null)
        {
            // The SQLite fallback would live in one instance's /tmp: every cold start would forget the fleet.
            throw new InvalidOperationException(
                $"running on AWS Lambda without {LambdaEnvironment.FleetTableName}: the fleet functions need the DynamoDB fleet table; the SQLite fallback is for local runs only");
        }

        var d = FleetThresholds.Default;
        return new FleetOptions
        {
            TableName = Str(LambdaEnvironment.FleetTableName),
            DbPath = Str(LambdaEnvironment.FleetDbPath) ?? new FleetOptions().DbPath,
            Thresholds = new FleetThresholds(
                TimeSpan.FromHours(Number(LambdaEnvironment.FleetSilentHours, d.Silent.TotalHours)),
                TimeSpan.FromHours(Number(LambdaEnvironment.FleetQueueGrowingHours, d.QueueGrowing.TotalHours)),
                (long)Number(LambdaEnvironment.FleetMinFreeDiskBytes, d.MinFreeDiskBytes)),
        };
    }
}

/// <summary>When a device is flagged: silent longer than <see cref="Silent"/>, queue growing for <see cref="QueueGrowing"/>, free disk below <see cref="MinFreeDiskBytes"/>.</summary>
public sealed record FleetThresholds(TimeSpan Silent, TimeSpan QueueGrowing, long MinFreeDiskBytes)
{
    public static readonly FleetThresholds Default = new(TimeSpan.FromHours(6), TimeSpan.FromHours(4), 512L * 1024 * 1024);
}
