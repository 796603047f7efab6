using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Fleet;

namespace EdgeLabeling.Cli.Tests;

public sealed class FleetCommandTests : IDisposable
{
    private readonly TempDir _dir = new("fleet-cli-");

    public void Dispose() => _dir.Dispose();

    private async Task<string> StoreWithAsync(params (string Thing, double HoursAgo, int Queued, long FreeDisk)[] devices)
    {
        var path = _dir.File("fleet.db");
        var store = new SqliteFleetStore(path);
        foreach (var (thing, ago, queued, free) in devices)
        {
            var at = DateTimeOffset.UtcNow.AddHours(-ago);
            await store.ApplyAsync(new FleetHeartbeat
            {
                Schema = 1, ThingName = thing, SentUtc = at, Reason = "interval", QueueByLane = new() { ["review"] = queued }, QueuedItems = queued,
                BytesSentToday = 10, DailyQuotaBytes = 0, FreeDiskBytes = free, Online = true, ModelSha256 = new string('d', 64),
                RoutingVersion = "routing-v1+aaaaaaaaaaaa", ComponentVersion = "1.4.0", ErrorsByKind = [],
            }, at);
        }

        return path;
    }

    [Fact]
    public async Task FleetStatus_Json_ListsDevicesWithFlags()
    {
        var db = await StoreWithAsync(("cam-ok", 0.1, 2, 10L << 30), ("cam-gone", 7, 0, 10L << 30), ("cam-full", 0.1, 0, 100L << 20));

        var (code, stdout, stderr) = CliRunner.Run("fleet", "status", "--db", db, "--json");

        Assert.True(code == 0, stderr);
        var devices = JsonNode.Parse(stdout)!["devices"]!.AsArray().ToDictionary(d => d!["thingName"]!.GetValue<string>(), d => d!);
        Assert.Empty(devices["cam-ok"]["flags"]!.AsArray());
        Assert.Equal(2, devices["cam-ok"]["queuedItems"]!.GetValue<int>());
        Assert.Equal("1.4.0", devices["cam-ok"]["componentVersion"]!.GetValue<string>());
        Assert.Equal(FleetFlags.Silent, devices["cam-gone"]["flags"]![0]!.GetValue<string>());
        Assert.Equal(FleetFlags.LowDisk, devices["cam-full"]["flags"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task FleetStatus_Table_ShowsDevicesAndSummary()
    {
        var db = await StoreWithAsync(("cam-gone", 7, 0, 10L << 30));

        var (code, stdout, stderr) = CliRunner.Run("fleet", "status", "--db", db);

        Assert.True(code == 0, stderr);
        Assert.Contains("cam-gone", stdout);
        Assert.Contains("silent", stdout);
        Assert.Contains("1 device(s): 1 silent", stdout);
    }

    [Fact]
    public void FleetStatus_MissingStoreOrNoSource_FailsWithClearErrors()
    {
        var missing = CliRunner.Run("fleet", "status", "--db", _dir.File("nope.db"));
        var none = CliRunner.Run("fleet", "status");
        var badHours = CliRunner.Run("fleet", "status", "--table", "t", "--silent-hours", "0");

        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("fleet store", missing.Stderr);
        Assert.Contains("does not exist", missing.Stderr);
        Assert.False(File.Exists(_dir.File("nope.db")));
        Assert.Equal(2, none.ExitCode);
        Assert.Contains("exactly one of --db", none.Stderr);
        Assert.Equal(2, badHours.ExitCode);
        Assert.Contains("--silent-hours", badHours.Stderr);
    }

    [Fact]
    public void FleetStatus_Help_DescribesTheOptions()
    {
        var (code, stdout, _) = CliRunner.Run("fleet", "status", "--help");

        Assert.Equal(0, code);
        Assert.Contains("--db", stdout);
        Assert.Contains("--table", stdout);
        Assert.Contains("--json", stdout);
    }
}
