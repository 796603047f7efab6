using System.Text.Json.Serialization;
using EdgeLabeling.Contracts;

namespace EdgeLabeling.Labeling.Fleet;

/// <summary>One device as <c>edgelabel fleet status</c>, the demo report and the scheduled check see it.</summary>
public sealed record FleetDeviceStatus
{
    public required string ThingName { get; init; }
    public required DateTimeOffset LastSeenUtc { get; init; }
    public required double SilentHours { get; init; }
    public required int QueuedItems { get; init; }
    public required Dictionary<string, int> QueueByLane { get; init; }
    public double? OldestQueuedAgeSeconds { get; init; }
    public required double QueueGrowingHours { get; init; }
    public long? FreeDiskBytes { get; init; }
    public required long BytesSentToday { get; init; }
    public required long DailyQuotaBytes { get; init; }
    public DateTimeOffset? LastUploadUtc { get; init; }
    public required bool Online { get; init; }
    public string? ModelSha256 { get; init; }
    public string? RoutingVersion { get; init; }
    public string? ComponentVersion { get; init; }
    public required Dictionary<string, long> ErrorsByKind { get; init; }
    public required IReadOnlyList<string> Flags { get; init; }
}

/// <summary>The whole fleet at one moment.</summary>
public sealed record FleetReport
{
    public required DateTimeOffset TimeUtc { get; init; }
    public required double SilentAfterHours { get; init; }
    public required double QueueGrowingAfterHours { get; init; }
    public required long MinFreeDiskBytes { get; init; }
    public required IReadOnlyList<FleetDeviceStatus> Devices { get; init; }

    public int Flagged(string flag) => Devices.Count(d => d.Flags.Contains(flag));
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(FleetReport))]
public sealed partial class FleetReportJsonContext : JsonSerializerContext;

/// <summary>
/// Builds the fleet report from the table and, on a schedule, emits the fleet-wide counts the alarms watch.
/// "Silent" can only be seen from the cloud side (a silent device sends nothing), so it is this check, not
/// the heartbeat handler, that puts it into a metric.
/// </summary>
public sealed class FleetCheck(IFleetStore fleet, FleetOptions options, ILabelingMetrics metrics, TimeProvider time)
{
    public async Task<FleetReport> BuildReportAsync(CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var t = options.Thresholds;
        var devices = (await fleet.ListAsync(cancellationToken).ConfigureAwait(false)).Select(d => new FleetDeviceStatus
        {
            ThingName = d.ThingName,
            LastSeenUtc = d.LastSeenUtc,
            SilentHours = Math.Round(d.SilentFor(now).TotalHours, 2),
            QueuedItems = d.Heartbeat.QueuedItems,
            QueueByLane = d.Heartbeat.QueueByLane,
            OldestQueuedAgeSeconds = d.Heartbeat.OldestQueuedAgeSeconds,
            QueueGrowingHours = Math.Round(d.QueueGrowingFor.TotalHours, 2),
            FreeDiskBytes = d.Heartbeat.FreeDiskBytes,
            BytesSentToday = d.Heartbeat.BytesSentToday,
            DailyQuotaBytes = d.Heartbeat.DailyQuotaBytes,
            LastUploadUtc = d.Heartbeat.LastUploadUtc,
            Online = d.Heartbeat.Online,
            ModelSha256 = d.Heartbeat.ModelSha256,
            RoutingVersion = d.Heartbeat.RoutingVersion,
            ComponentVersion = d.Heartbeat.ComponentVersion,
            ErrorsByKind = d.Heartbeat.ErrorsByKind,
            Flags = FleetFlags.Of(d, now, t),
        }).ToList();
        return new FleetReport
        {
            TimeUtc = now,
            SilentAfterHours = t.Silent.TotalHours,
            QueueGrowingAfterHours = t.QueueGrowing.TotalHours,
            MinFreeDiskBytes = t.MinFreeDiskBytes,
            Devices = devices,
        };
    }

    /// <summary>The scheduled run: builds the report and emits the per-device silent hours and the fleet-wide counts.</summary>
    public async Task<FleetReport> RunAsync(CancellationToken cancellationToken = default)
    {
        var report = await BuildReportAsync(cancellationToken).ConfigureAwait(false);
        foreach (var d in report.Devices)
        {
            metrics.Emit(FleetMetricNames.DeviceSilentHours, d.SilentHours, "None", new Dictionary<string, string> { [FleetMetricNames.ThingDimension] = d.ThingName });
        }

        // Emitted on every run, zeros included: the alarms treat a missing datapoint as "the check is not running".
        metrics.Emit(FleetMetricNames.FleetDevices, report.Devices.Count, "Count");
        metrics.Emit(FleetMetricNames.SilentDevices, report.Flagged(FleetFlags.Silent), "Count");
        metrics.Emit(FleetMetricNames.QueueGrowingDevices, report.Flagged(FleetFlags.QueueGrowing), "Count");
        metrics.Emit(FleetMetricNames.LowDiskDevices, report.Flagged(FleetFlags.LowDisk), "Count");
        return report;
    }
}
