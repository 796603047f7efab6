using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Fleet;
using EdgeLabeling.Lambdas;
using EdgeLabeling.Simulation.LocalCloud;
using EdgeLabeling.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeLabeling.Cli.Pipeline;

/// <summary>
/// The fleet part of the local loop: the demo device's heartbeat objects (status/) go through the real
/// heartbeat handler, fed the S3 notification AWS would send, into a local fleet store
/// (<c>cloud/fleet.db</c>, readable with <c>edgelabel fleet status --db</c>), and the fleet check reports on it.
/// </summary>
internal static class PipelineFleet
{
    public static string DbPath(string outputDirectory) => Path.Combine(outputDirectory, "cloud", "fleet.db");

    public static async Task<FleetReport> RunAsync(string outputDirectory, IObjectStore store, LabelingOptions options, string incomingBucket, CancellationToken ct)
    {
        var path = DbPath(outputDirectory);
        File.Delete(path);
        var fleet = new SqliteFleetStore(path);
        using var metrics = new StreamWriter(Path.Combine(outputDirectory, "cloud", "fleet-metrics.emf.jsonl"), append: false) { AutoFlush = true };
        var emf = new EmfMetrics(TextWriter.Synchronized(metrics));
        using var services = new ServiceCollection()
            .AddSingleton(new FleetHeartbeatIngest(store, fleet, options, emf, TimeProvider.System))
            .BuildServiceProvider();
        var handler = new FleetHeartbeatFunction(services);
        var factory = new AwsEventFactory(options.Region, CloudStage.AccountId, EdgeStage.ThingName);
        await foreach (var o in store.ListAsync(incomingBucket, FleetKeys.StatusPrefix, ct).ConfigureAwait(false))
        {
            var bytes = await store.ReadBytesAsync(incomingBucket, o.Key, ct).ConfigureAwait(false) ?? [];
            var notification = factory.S3Notification(new CreatedObject(incomingBucket, o.Key, o.Size, Convert.ToHexStringLower(MD5.HashData(bytes)), o.LastModified));
            await using var response = await handler.HandleAsync(new MemoryStream(Encoding.UTF8.GetBytes(notification.ToJsonString()))).ConfigureAwait(false);
            var outcomes = (await JsonNode.ParseAsync(response, cancellationToken: ct).ConfigureAwait(false))!.AsArray();
            if (outcomes.Any(x => x!["reason"]!.GetValue<string>() != HeartbeatReasons.Accepted))
            {
                throw new PipelineStageException("fleet", $"heartbeat {o.Key} refused: {outcomes.ToJsonString()}");
            }
        }

        return await new FleetCheck(fleet, new FleetOptions(), emf, TimeProvider.System).RunAsync(ct).ConfigureAwait(false);
    }

    public static JsonNode ToJson(FleetReport report) => JsonNode.Parse(JsonSerializer.Serialize(report, FleetReportJsonContext.Default.FleetReport))!;

    public static void AppendMarkdown(StringBuilder sb, FleetReport report)
    {
        void L(string line = "") => sb.Append(line).Append('\n');
        L("## Fleet");
        L();
        L(Commands.FleetCommand.Summary(report) + ". Built from the devices' heartbeats (`status/{thing}/heartbeat.json`) by the real heartbeat handler; `edgelabel fleet status --db cloud/fleet.db` shows the same.");
        L();
        L("| device | last seen (UTC) | queue | bytes sent today | free disk | model | routing | component | upload errors | flags |");
        L("|---|---|---:|---:|---:|---|---|---|---|---|");
        foreach (var d in report.Devices)
        {
            var errors = d.ErrorsByKind.Count == 0 ? "none" : string.Join(", ", d.ErrorsByKind.Select(e => $"{e.Key} {e.Value}"));
            L(string.Create(CultureInfo.InvariantCulture,
                $"| {d.ThingName} | {d.LastSeenUtc.UtcDateTime:yyyy-MM-dd HH:mm:ss} | {Commands.FleetCommand.Queue(d)} | {PipelineRunner.Mb(d.BytesSentToday)} | {(d.FreeDiskBytes is { } f ? $"{f / (1024.0 * 1024 * 1024):0.0} GiB" : "?")} | {(d.ModelSha256 is { Length: >= 12 } m ? m[..12] : "?")} | {d.RoutingVersion} | {d.ComponentVersion} | {errors} | {(d.Flags.Count == 0 ? "ok" : string.Join(", ", d.Flags))} |"));
        }

        L();
    }
}
