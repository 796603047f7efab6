using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EdgeLabeling.Cli.Console;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Merge;
using Spectre.Console;

namespace EdgeLabeling.Cli.Commands;

/// <summary>
/// <c>edgelabel export --output DIR [--format coco,yolo] [--config FILE | --store DIR] [--data-bucket B] [--upload]</c>:
/// builds the dataset on demand from every job shard the merge wrote and every auto-label batch — one line per
/// image (human labels win), COCO and YOLO — the O(dataset) step the per-job merge does not do.
/// Exit codes: 0 done, 1 the store failed, 2 bad arguments or configuration, 3 the dataset is empty.
/// </summary>
internal static class ExportCommand
{
    private static readonly string[] Formats = ["coco", "yolo"];

    public static Command Create()
    {
        var output = new Option<DirectoryInfo?>("--output", "-o") { Description = "Folder for dataset.manifest, coco.json, yolo/ and build-report.json." };
        var format = new Option<string>("--format", "-f") { Description = "Exports besides the manifest, comma-separated: coco, yolo (or 'none').", DefaultValueFactory = _ => "coco" };
        var config = new Option<FileInfo?>("--config", "-c") { Description = "JSON object of the Lambda environment variables (DATA_BUCKET, INCOMING_BUCKET, LABEL_ATTRIBUTE, S3_ENDPOINT, LOCAL_STORE_ROOT…); default: the environment." };
        var store = new Option<DirectoryInfo?>("--store") { Description = "Read a local object store folder (as the pipeline and tests write) instead of S3." };
        var s3Endpoint = new Option<string?>("--s3-endpoint") { Description = "S3-compatible endpoint to read from instead of AWS." };
        var dataBucket = new Option<string?>("--data-bucket") { Description = "Bucket holding dataset/<attr>/jobs/ (default: DATA_BUCKET)." };
        var attribute = new Option<string?>("--label-attribute") { Description = "The dataset's label attribute (default: LABEL_ATTRIBUTE or 'parts')." };
        var upload = new Option<bool>("--upload") { Description = "Also upload dataset.manifest, coco.json and build-report.json to dataset/<attr>/ in the data bucket." };
        var json = new Option<bool>("--json") { Description = "Print the build report as JSON." };

        var command = new Command("export", "Build the merged dataset (manifest + COCO/YOLO) on demand from the per-job shards and the auto-label batches.")
        {
            output, format, config, store, s3Endpoint, dataBucket, attribute, upload, json,
        };
        command.SetAction((p, ct) => RunAsync(p.GetValue(output), p.GetValue(format)!, p.GetValue(config), p.GetValue(store), p.GetValue(s3Endpoint), p.GetValue(dataBucket), p.GetValue(attribute), p.GetValue(upload), p.GetValue(json), ct));
        return command;
    }

    private static async Task<int> RunAsync(DirectoryInfo? output, string format, FileInfo? configFile, DirectoryInfo? storeDir, string? s3Endpoint, string? dataBucket, string? attribute, bool upload, bool json, CancellationToken ct)
    {
        if (output is null)
        {
            return CliErrors.Fail("export", "--output DIR is required", 2);
        }

        var formats = format.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(f => f.ToLowerInvariant()).ToHashSet();
        formats.Remove("none");
        if (formats.FirstOrDefault(f => !Formats.Contains(f)) is { } unknown)
        {
            return CliErrors.Fail("export", $"unknown --format '{unknown}' (known: {string.Join(", ", Formats)}, none)", 2);
        }

        if (storeDir is not null && s3Endpoint is not null)
        {
            return CliErrors.Fail("export", "give either --store or --s3-endpoint, not both", 2);
        }

        if (storeDir is { Exists: false })
        {
            return CliErrors.Fail("export", $"store folder '{storeDir.FullName}' does not exist", 2);
        }

        LabelingOptions options;
        try
        {
            options = BatchCommand.LoadOptions(configFile, s3Endpoint);
            options = options with
            {
                LocalStoreRoot = storeDir?.FullName ?? options.LocalStoreRoot,
                DataBucket = dataBucket ?? options.DataBucket,
                LabelAttribute = attribute ?? options.LabelAttribute,
            };
            GroundTruthManifest.ValidateLabelAttributeName(options.LabelAttribute);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or IOException or JsonException)
        {
            return CliErrors.Fail("export", ex.Message, 2);
        }

        try
        {
            var store = BatchCommand.CreateReadStore(options);
            var mergeOptions = new MergeOptions
            {
                DataBucket = options.DataBucket,
                DatasetAttribute = options.LabelAttribute,
                AutoLabelBuckets = options.IncomingBucket is { } incoming && incoming != options.DataBucket ? [incoming, options.DataBucket] : [options.DataBucket],
                WorkDirectory = Path.Combine(Path.GetTempPath(), "edgelabel-export-" + Guid.NewGuid().ToString("N")),
            };
            DatasetExportResult result;
            try
            {
                result = await new DatasetExporter(store, mergeOptions, new DatasetBuilder()).ExportAsync(new DatasetExportRequest
                {
                    Directory = output.FullName,
                    Coco = formats.Contains("coco"),
                    Yolo = formats.Contains("yolo"),
                    Upload = upload,
                }, ct);
            }
            finally
            {
                if (Directory.Exists(mergeOptions.WorkDirectory))
                {
                    Directory.Delete(mergeOptions.WorkDirectory, recursive: true);
                }
            }

            if (json)
            {
                System.Console.Out.WriteLine(JsonSerializer.Serialize(result.Report, MergeJsonContext.Default.DatasetBuildReport));
            }
            else
            {
                var t = MergeCommand.Summary(result.Report, result.ManifestPath, result.CocoPath, options.LabelAttribute);
                t.AddRow("job shards / auto-label batches read", $"{result.Shards:N0} / {result.AutoLabelBatches:N0}");
                if (result.YoloDirectory is not null)
                {
                    t.AddRow("YOLO", $"{Markup.Escape(result.YoloDirectory)} ({result.Report.YoloImages.ToString("N0", CultureInfo.InvariantCulture)} label files)");
                }

                AnsiConsole.Write(t);
            }

            if (result.Report.TotalImages == 0)
            {
                return CliErrors.Fail("export", $"the dataset is empty: no labeled image under s3://{options.DataBucket}/{DatasetKeys.JobShardPrefix(options.LabelAttribute)} nor in {LabelingConventions.AutoLabelsPrefix} (is --label-attribute '{options.LabelAttribute}' the one the merge used?)", 3);
            }

            return 0;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Amazon.Runtime.AmazonServiceException or Amazon.Runtime.AmazonClientException or InvalidOperationException)
        {
            return CliErrors.Fail("export", ex.Message, 1);
        }
    }
}
