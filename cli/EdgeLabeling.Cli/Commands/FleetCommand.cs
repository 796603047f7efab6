using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Amazon.DynamoDBv2;
using Amazon.Runtime;
using EdgeLabeling.Cli.Console;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Fleet;
using Spectre.Console;

namespace EdgeLabeling.Cli.Commands;

/// <summary>
/// <c>edgelabel fleet status (--db FILE | --table NAME) [--json]</c>: every device with its last heartbeat,
/// queue, model / routing / component version and flags (silent, queue growing, low disk).
/// </summary>
internal static class FleetCommand
{
    public static Command Create()
    {
        var db = new Option<FileInfo?>("--db") { Description = "Local fleet store (SQLite), e.g. out/demo/cloud/fleet.db written by `edgelabel pipeline`." };
        var table = new Option<string?>("--table") { Description = "DynamoDB fleet table (the FleetTable of the labeling stack)." };
        var region = new Option<string?>("--region") { Description = "AWS Region of the table (default AWS_REGION, then us-east-1)." };
        var endpoint = new Option<string?>("--dynamodb-endpoint") { Description = "DynamoDB endpoint override (DynamoDB Local, dynalite)." };
        var silent = new Option<double>("--silent-hours") { Description = "Flag devices silent for longer than this.", DefaultValueFactory = _ => FleetThresholds.Default.Silent.TotalHours };
        var growing = new Option<double>("--queue-growing-hours") { Description = "Flag devices whose queue has grown for this long.", DefaultValueFactory = _ => FleetThresholds.Default.QueueGrowing.TotalHours };
        var disk = new Option<long>("--min-free-disk-mb") { Description = "Flag devices with less free disk than this (MB).", DefaultValueFactory = _ => FleetThresholds.Default.MinFreeDiskBytes / (1024 * 1024) };
        var json = new Option<bool>("--json") { Description = "Print the fleet report as JSON." };

        var status = new Command("status", "List the devices: last seen, queue, model and routing version, flags (silent, queue growing, low disk).")
        {
            db, table, region, endpoint, silent, growing, disk, json,
        };
        status.SetAction(async (p, ct) =>
        {
            try
            {
                var thresholds = new FleetThresholds(Hours(p.GetValue(silent), "--silent-hours"), Hours(p.GetValue(growing), "--queue-growing-hours"),
                    p.GetValue(disk) >= 0 ? p.GetValue(disk) * 1024 * 1024 : throw new ArgumentException("--min-free-disk-mb must be >= 0"));
                var store = OpenStore(p.GetValue(db), p.GetValue(table), p.GetValue(region), p.GetValue(endpoint));
                var report = await new FleetCheck(store, new FleetOptions { Thresholds = thresholds }, NullLabelingMetrics.Instance, TimeProvider.System).BuildReportAsync(ct).ConfigureAwait(false);
                if (p.GetValue(json))
                {
                    System.Console.Out.WriteLine(JsonSerializer.Serialize(report, FleetReportJsonContext.Default.FleetReport));
                }
                else
                {
                    AnsiConsole.Write(Render(report));
                    AnsiConsole.MarkupLine(Markup.Escape(Summary(report)));
                }

                return 0;
            }
            catch (ArgumentException ex)
            {
                return CliErrors.Fail("fleet status", ex.Message, 2);
            }
            catch (Exception ex) when (ex is AmazonServiceException or AmazonClientException or HttpRequestException)
            {
                return CliErrors.Fail("fleet status", $"could not read the fleet table: {ex.Message}", 1);
            }
            catch (Exception ex) when (ex is Microsoft.Data.Sqlite.SqliteException or InvalidDataException or JsonException)
            {
                return CliErrors.Fail("fleet status", $"could not read the fleet store: {ex.Message}", 1);
            }
        });

        return new Command("fleet", "The view of the edge fleet, built from the devices' heartbeats.") { status };
    }

    private static TimeSpan Hours(double h, string option) =>
        h > 0 && double.IsFinite(h) ? TimeSpan.FromHours(h) : throw new ArgumentException($"{option} must be a positive number of hours, not {h.ToString(CultureInfo.InvariantCulture)}");

    private static IFleetStore OpenStore(FileInfo? db, string? table, string? region, string? endpoint)
    {
        if ((db is null) == (table is null))
        {
            throw new ArgumentException("give exactly one of --db (local store) or --table (DynamoDB)");
        }

        if (db is not null)
        {
            // Opening would create an empty store; a typo must not look like an empty fleet.
            return db.Exists ? new SqliteFleetStore(db.FullName) : throw new ArgumentException($"fleet store '{db.FullName}' does not exist (run `edgelabel pipeline` or pass --table)");
        }

        if (endpoint is not null && !(Uri.TryCreate(endpoint, UriKind.Absolute, out var u) && u.Scheme is "http" or "https"))
        {
            throw new ArgumentException($"--dynamodb-endpoint '{endpoint}' is not an http(s) URL");
        }

        var labeling = new LabelingOptions { Region = region ?? Environment.GetEnvironmentVariable("AWS_REGION") ?? "us-east-1", DynamoDbEndpoint = endpoint };
        return FleetServiceCollectionExtensions.CreateStore(labeling, new FleetOptions { TableName = table });
    }

    /// <summary>The device table (also printed by the pipeline report).</summary>
    internal static Table Render(FleetReport report)
    {
        var t = new Table().Border(TableBorder.Rounded).Title("Fleet");
        foreach (var c in new[] { "device", "last seen (UTC)", "queue", "oldest queued", "free disk", "model", "routing", "component", "flags" })
        {
            // Names and flags are what people search for: never broken across lines in a narrow terminal.
            t.AddColumn(c is "device" or "flags" ? new TableColumn(c).NoWrap() : new TableColumn(c));
        }

        foreach (var d in report.Devices)
        {
            t.AddRow(
                Markup.Escape(d.ThingName),
                Markup.Escape($"{d.LastSeenUtc.UtcDateTime:yyyy-MM-dd HH:mm} ({Ago(d.SilentHours)})"),
                Markup.Escape(Queue(d)),
                d.OldestQueuedAgeSeconds is { } age ? Markup.Escape(Duration(age)) : "-",
                d.FreeDiskBytes is { } free ? Markup.Escape($"{free / (1024.0 * 1024 * 1024):0.0} GiB") : "?",
                Markup.Escape(d.ModelSha256 is { Length: >= 12 } sha ? sha[..12] : d.ModelSha256 ?? "?"),
                Markup.Escape(d.RoutingVersion ?? "?"),
                Markup.Escape(d.ComponentVersion ?? "?"),
                d.Flags.Count == 0 ? "[green]ok[/]" : "[red]" + Markup.Escape(string.Join(", ", d.Flags)) + "[/]");
        }

        return t;
    }

    internal static string Summary(FleetReport r) => string.Create(CultureInfo.InvariantCulture,
        $"{r.Devices.Count} device(s): {r.Flagged(FleetFlags.Silent)} silent (> {r.SilentAfterHours:0.#} h), {r.Flagged(FleetFlags.QueueGrowing)} queue growing (>= {r.QueueGrowingAfterHours:0.#} h), {r.Flagged(FleetFlags.LowDisk)} low disk (< {r.MinFreeDiskBytes / (1024 * 1024)} MB)");

    internal static string Queue(FleetDeviceStatus d) =>
        d.QueuedItems + (d.QueueByLane.GetValueOrDefault("review") is > 0 and var review ? $" ({review} review)" : "");

    private static string Ago(double hours) => hours < 1 ? $"{hours * 60:0} min ago" : $"{hours:0.#} h ago";

    internal static string Duration(double seconds) => seconds < 120 ? $"{seconds:0} s" : seconds < 7200 ? $"{seconds / 60:0} min" : $"{seconds / 3600:0.#} h";
}
