using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Fleet;
using EdgeLabeling.Labeling.Tests.Support;
using static EdgeLabeling.Labeling.Tests.Fleet.FleetTestData;

namespace EdgeLabeling.Labeling.Tests.Fleet;

/// <summary>The fleet flags from generated heartbeat histories, replayed through the real store and check.</summary>
public sealed class FleetFlagsTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly FleetThresholds Thresholds = new(TimeSpan.FromHours(6), TimeSpan.FromHours(4), 512L * 1024 * 1024);
    private readonly TempDir _dir = new();
    private readonly SqliteFleetStore _fleet;
    private readonly ManualTime _time = new(T0);
    private readonly RecordingMetrics _metrics = new();

    public FleetFlagsTests() => _fleet = new SqliteFleetStore(_dir.File("fleet.db"));

    public void Dispose() => _dir.Dispose();

    private FleetCheck Check() => new(_fleet, new FleetOptions { Thresholds = Thresholds }, _metrics, _time);

    /// <summary>Replays one heartbeat every 5 minutes for <paramref name="hours"/>, the queue depth given by <paramref name="queueAt"/>(minute).</summary>
    private async Task ReplayAsync(string thing, double hours, Func<int, int> queueAt, Func<int, long>? diskAt = null, int startMinute = 0)
    {
        for (var minute = startMinute; minute <= startMinute + (hours * 60); minute += 5)
        {
            var at = T0.AddMinutes(minute);
            await _fleet.ApplyAsync(Heartbeat(thing, at.AddSeconds(-2), queueAt(minute), diskAt?.Invoke(minute) ?? 10L * 1024 * 1024 * 1024), at);
        }
    }

    private async Task<FleetDeviceStatus> DeviceAsync(string thing) => (await Check().BuildReportAsync()).Devices.Single(d => d.ThingName == thing);

    [Fact]
    public async Task Flags_DeviceSilentForSevenHours_IsFlaggedSilent()
    {
        await ReplayAsync("cam-silent", hours: 2, queueAt: _ => 0);
        _time.Advance(TimeSpan.FromHours(2 + 7));

        var device = await DeviceAsync("cam-silent");

        Assert.Equal([FleetFlags.Silent], device.Flags);
        Assert.Equal(7, device.SilentHours, precision: 1);
    }

    [Fact]
    public async Task Flags_DeviceSilentFiveHours_IsNotYetSilent()
    {
        await ReplayAsync("cam-quiet", hours: 1, queueAt: _ => 0);
        _time.Advance(TimeSpan.FromHours(1 + 5));

        Assert.Empty((await DeviceAsync("cam-quiet")).Flags);
    }

    [Fact]
    public async Task Flags_QueueGrowingForFiveHours_IsFlaggedQueueGrowing()
    {
        // Link down: every 5 minutes a few more items, none leave.
        await ReplayAsync("cam-behind", hours: 5, queueAt: m => 3 + (m / 5 * 2));
        _time.Advance(TimeSpan.FromHours(5));

        var device = await DeviceAsync("cam-behind");

        Assert.Equal([FleetFlags.QueueGrowing], device.Flags);
        Assert.True(device.QueueGrowingHours >= 4.9, $"growing {device.QueueGrowingHours} h");
    }

    [Fact]
    public async Task Flags_QueueGrowingWithDipsThatNeverReachTheStart_IsStillFlagged()
    {
        // Too slow a link: the queue drains a little now and then but never back to where it started.
        await ReplayAsync("cam-slow", hours: 5, queueAt: m => 10 + (m / 5) - (m % 15 == 0 ? 2 : 0) + (m == 0 ? 2 : 0));
        _time.Advance(TimeSpan.FromHours(5));

        Assert.Contains(FleetFlags.QueueGrowing, (await DeviceAsync("cam-slow")).Flags);
    }

    [Fact]
    public async Task Flags_QueueGrowingOnlyThreeHours_IsNotFlagged()
    {
        await ReplayAsync("cam-busy", hours: 3, queueAt: m => m / 5);
        _time.Advance(TimeSpan.FromHours(3));

        Assert.Empty((await DeviceAsync("cam-busy")).Flags);
    }

    [Fact]
    public async Task Flags_SteadyDeviceForADay_HasNoFlags()
    {
        // Bursts of review images that drain within the hour, as a healthy device's queue does.
        var random = new Random(13);
        var depths = Enumerable.Range(0, (24 * 12) + 1).Select(i => i % 12 is 0 or 11 ? 0 : random.Next(0, 25)).ToArray();
        await ReplayAsync("cam-steady", hours: 24, queueAt: m => depths[m / 5]);
        _time.Advance(TimeSpan.FromHours(24).Add(TimeSpan.FromMinutes(3)));

        var device = await DeviceAsync("cam-steady");

        Assert.Empty(device.Flags);
        Assert.True(device.QueueGrowingHours < 1, $"growing {device.QueueGrowingHours} h");
    }

    [Fact]
    public async Task Flags_FreeDiskBelowFloor_IsFlaggedLowDisk()
    {
        await ReplayAsync("cam-full", hours: 1, queueAt: _ => 0, diskAt: m => (1024L - (m * 10)) * 1024 * 1024);
        _time.Advance(TimeSpan.FromHours(1));

        Assert.Equal([FleetFlags.LowDisk], (await DeviceAsync("cam-full")).Flags);
    }

    [Fact]
    public async Task RunAsync_MixedFleet_EmitsTheCountsTheAlarmsWatch()
    {
        await ReplayAsync("cam-steady", hours: 8, queueAt: m => m % 30 == 0 ? 0 : 4);
        await ReplayAsync("cam-behind", hours: 8, queueAt: m => m / 5);
        await ReplayAsync("cam-silent", hours: 1, queueAt: _ => 0);
        _time.Advance(TimeSpan.FromHours(8));

        var report = await Check().RunAsync();

        Assert.Equal(3, _metrics.Sum(FleetMetricNames.FleetDevices));
        Assert.Equal(1, _metrics.Sum(FleetMetricNames.SilentDevices));
        Assert.Equal(1, _metrics.Sum(FleetMetricNames.QueueGrowingDevices));
        Assert.Equal(0, _metrics.Sum(FleetMetricNames.LowDiskDevices));
        Assert.Equal(7, _metrics.Sum(FleetMetricNames.DeviceSilentHours, FleetMetricNames.ThingDimension, "cam-silent"), precision: 1);
        Assert.Equal(["cam-behind", "cam-silent", "cam-steady"], report.Devices.Select(d => d.ThingName));
        Assert.Empty(report.Devices.Single(d => d.ThingName == "cam-steady").Flags);
    }

    [Fact]
    public async Task RunAsync_EmptyFleet_StillEmitsZeroCounts()
    {
        await Check().RunAsync();

        Assert.Contains(_metrics.Lines, l => l.Name == FleetMetricNames.SilentDevices && l.Value == 0);
        Assert.Contains(_metrics.Lines, l => l.Name == FleetMetricNames.FleetDevices && l.Value == 0);
    }

    [Fact]
    public void FleetOptions_FromEnvironment_ReadsThresholdsAndNamesBadValues()
    {
        var env = new Dictionary<string, string> { ["FLEET_SILENT_HOURS"] = "2.5", ["FLEET_QUEUE_GROWING_HOURS"] = "8", ["FLEET_MIN_FREE_DISK_BYTES"] = "1000", ["FLEET_TABLE_NAME"] = "fleet" };
        var options = FleetOptions.FromEnvironment(n => env.GetValueOrDefault(n));

        Assert.Equal(TimeSpan.FromHours(2.5), options.Thresholds.Silent);
        Assert.Equal(TimeSpan.FromHours(8), options.Thresholds.QueueGrowing);
        Assert.Equal(1000, options.Thresholds.MinFreeDiskBytes);
        Assert.Equal("fleet", options.TableName);
        var ex = Assert.Throws<ArgumentException>(() => FleetOptions.FromEnvironment(n => n == "FLEET_SILENT_HOURS" ? "soon" : null));
        Assert.Contains("FLEET_SILENT_HOURS", ex.Message);
    }
}
