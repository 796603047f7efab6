using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EdgeLabeling.Cli.Console;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Batching;
using EdgeLabeling.Labeling.Events;
using EdgeLabeling.Labeling.Ingest;
using EdgeLabeling.Labeling.Jobs;
using EdgeLabeling.Labeling.Pending;
using EdgeLabeling.Labeling.SageMaker;
using EdgeLabeling.Storage;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace EdgeLabeling.Cli.Commands;

/// <summary>
/// <c>edgelabel batch --events FILE... [--config FILE] [--dry-run --output DIR] [--s3-endpoint URL] [--flush]</c>:
/// runs the cloud ingest and the batch planner over S3 event files (raw S3 notifications or SQS
/// envelopes). With <c>--dry-run</c> nothing leaves the machine: the pending store is a throwaway SQLite
/// file, sidecars are read from the configured object store but nothing is written to it, and for each job
/// the input manifest, the label-category file and the exact CreateLabelingJob request body are written to
/// DIR. Exit codes: 0 done, 2 bad input, 3 the planner stopped on an error.
/// </summary>
internal static class BatchCommand
{
    public static Command Create()
    {
        var events = new Option<FileInfo[]>("--events", "-e")
        {
            Description = "S3 event JSON files: an S3 notification, an SQS event whose bodies are notifications, or a JSON array of either.",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var config = new Option<FileInfo?>("--config", "-c")
        {
            Description = "JSON object of the Lambda environment variables (DATA_BUCKET, LOCAL_STORE_ROOT, WORKTEAM_ARN, ...; see lambdas/README.md). Without it the process environment is used.",
        };
        var dryRun = new Option<bool>("--dry-run") { Description = "Send nothing and write nothing remote; write the job files to --output instead. Plans regardless of the N/T thresholds." };
        var output = new Option<DirectoryInfo?>("--output", "-o") { Description = "Where the dry run writes <job>.manifest, <job>.label-categories.json and <job>.create-labeling-job.json." };
        var s3Endpoint = new Option<string?>("--s3-endpoint") { Description = "Read objects (sidecars) from this S3-compatible endpoint instead of the config's store." };
        var flush = new Option<bool>("--flush") { Description = "Make jobs from whatever is pending even below the thresholds." };
        var json = new Option<bool>("--json") { Description = "Print the run report as JSON." };

        var command = new Command("batch", "Ingest S3 events and plan Ground Truth labeling jobs (use --dry-run to see the exact requests without AWS).")
        {
            events, config, dryRun, output, s3Endpoint, flush, json,
        };
        command.SetAction((parse, ct) => RunAsync(
            parse.GetValue(events) ?? [],
            parse.GetValue(config),
            parse.GetValue(dryRun),
            parse.GetValue(output),
            parse.GetValue(s3Endpoint),
            parse.GetValue(flush),
            parse.GetValue(json),
            ct));
        return command;
    }

    private static async Task<int> RunAsync(FileInfo[] eventFiles, FileInfo? configFile, bool dryRun, DirectoryInfo? outputDir, string? s3Endpoint, bool flush, bool json, CancellationToken ct)
    {
        LabelingOptions options;
        List<object> events;
        try
        {
            if (dryRun && outputDir is null)
            {
                return CliErrors.Fail("batch", "--dry-run needs --output DIR for the job files", 2);
            }

            options = LoadOptions(configFile, s3Endpoint);
            events = [];
            foreach (var file in eventFiles)
            {
                events.AddRange(ReadEvents(file));
            }
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException or IOException or JsonException)
        {
            return CliErrors.Fail("batch", ex.Message, 2);
        }

        string? tempDb = null;
        var services = new ServiceCollection();
        DryRunObjectStore? dryObjects = null;
        DryRunSageMakerClient? drySageMaker = null;
        if (dryRun)
        {
            tempDb = Path.Combine(Path.GetTempPath(), $"edgelabel-batch-dry-{Guid.NewGuid():N}.db");
            options = options with { PendingDbPath = tempDb };
            dryObjects = new DryRunObjectStore(CreateReadStore(options));
            drySageMaker = new DryRunSageMakerClient(options.Region);
            services.AddSingleton<IObjectStore>(dryObjects);
            services.AddSingleton<IPendingStore>(new SqlitePendingStore(tempDb));
            services.AddSingleton<ISageMakerClient>(drySageMaker);
            services.AddSingleton<ILabelingMetrics>(NullLabelingMetrics.Instance);
        }
        else
        {
            // Metrics go to stderr so that stdout stays the report.
            services.AddSingleton<ILabelingMetrics>(new EmfMetrics(System.Console.Error));
        }

        try
        {
            await using var provider = services.AddLabeling(options).BuildServiceProvider();
            var ingest = provider.GetRequiredService<IngestProcessor>();
            var outcomes = new List<IngestOutcome>();
            foreach (var e in events)
            {
                outcomes.AddRange(e switch
                {
                    SqsEvent sqs => (await ingest.ProcessAsync(sqs, ct).ConfigureAwait(false)).Outcomes,
                    S3EventNotification n => await ingest.ProcessNotificationAsync(n, ct).ConfigureAwait(false),
                    _ => throw new InvalidOperationException("unreachable: unknown event kind"),
                });
            }

            var report = await provider.GetRequiredService<BatchPlanner>().PlanAsync(flush: flush || dryRun, cancellationToken: ct).ConfigureAwait(false);
            var written = new List<string>();
            if (dryRun)
            {
                written = await WriteDryRunFilesAsync(outputDir!.FullName, options, report, dryObjects!, drySageMaker!, ct).ConfigureAwait(false);
            }

            if (json)
            {
                System.Console.WriteLine(JsonSerializer.Serialize(report, LabelingJsonContext.Default.BatchRunReport));
            }
            else
            {
                Print(outcomes, report, written);
            }

            return report.Error is null ? 0 : CliErrors.Fail("batch", $"planner stopped: {report.Error}", 3);
        }
        catch (ArgumentException ex)
        {
            return CliErrors.Fail("batch", ex.Message, 2);
        }
        finally
        {
            if (tempDb is not null)
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                foreach (var f in new[] { tempDb, tempDb + "-wal", tempDb + "-shm" })
                {
                    File.Delete(f);
                }
            }
        }
    }

    internal static LabelingOptions LoadOptions(FileInfo? configFile, string? s3Endpoint)
    {
        LabelingOptions options;
        if (configFile is null)
        {
            options = LabelingOptions.FromEnvironment();
        }
        else
        {
            if (!configFile.Exists)
            {
                throw new FileNotFoundException($"config file {configFile.FullName} does not exist");
            }

            using var doc = JsonDocument.Parse(File.ReadAllBytes(configFile.FullName));
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException($"config file {configFile.Name} must be a JSON object of VARIABLE: value");
            }

            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                values[p.Name] = p.Value.ValueKind switch
                {
                    JsonValueKind.String => p.Value.GetString()!,
                    JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => p.Value.GetRawText(),
                    _ => throw new FormatException($"config value {p.Name} in {configFile.Name} must be a string, number or boolean"),
                };
            }

            // Relative local paths are relative to the config file, so a config can travel with its data.
            if (values.TryGetValue("LOCAL_STORE_ROOT", out var root) && !Path.IsPathRooted(root))
            {
                values["LOCAL_STORE_ROOT"] = Path.GetFullPath(Path.Combine(configFile.DirectoryName!, root));
            }

            options = LabelingOptions.FromDictionary(values);
        }

        return s3Endpoint is null ? options : options with { S3Endpoint = s3Endpoint, LocalStoreRoot = null };
    }

    internal static IObjectStore CreateReadStore(LabelingOptions options)
    {
        if (options.LocalStoreRoot is { } root)
        {
            return new FileSystemObjectStore(root);
        }

        var settings = new S3Settings { ServiceUrl = options.S3Endpoint, Region = options.Region, ChecksumWhenRequired = options.S3Endpoint is not null };
        return new S3ObjectStore(settings.CreateClient(), settings);
    }

    /// <summary>Reads one events file: an SQS event, an S3 notification, or a JSON array of them.</summary>
    internal static IEnumerable<object> ReadEvents(FileInfo file)
    {
        if (!file.Exists)
        {
            throw new FileNotFoundException($"events file {file.FullName} does not exist");
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(File.ReadAllBytes(file.FullName));
        }
        catch (JsonException ex)
        {
            throw new FormatException($"events file {file.Name} is not JSON: {ex.Message}", ex);
        }

        using (doc)
        {
            var roots = doc.RootElement.ValueKind == JsonValueKind.Array ? doc.RootElement.EnumerateArray().ToList() : [doc.RootElement];
            var list = new List<object>();
            foreach (var root in roots)
            {
                if (root.ValueKind != JsonValueKind.Object)
                {
                    throw new FormatException($"events file {file.Name} holds a {root.ValueKind} where an event object was expected");
                }

                var isSqs = root.TryGetProperty("Records", out var records) && records.ValueKind == JsonValueKind.Array
                    && records.EnumerateArray().Any(r => r.ValueKind == JsonValueKind.Object && (r.TryGetProperty("messageId", out _) || r.TryGetProperty("body", out _)));
                try
                {
                    list.Add(isSqs
                        ? root.Deserialize(LabelingJsonContext.Default.SqsEvent)!
                        : root.Deserialize(LabelingJsonContext.Default.S3EventNotification)!);
                }
                catch (JsonException ex)
                {
                    throw new FormatException($"events file {file.Name} is not an {(isSqs ? "SQS event" : "S3 notification")}: {ex.Message}", ex);
                }
            }

            return list;
        }
    }

    private static async Task<List<string>> WriteDryRunFilesAsync(string dir, LabelingOptions options, BatchRunReport report, DryRunObjectStore objects, DryRunSageMakerClient sageMaker, CancellationToken ct)
    {
        Directory.CreateDirectory(dir);
        var written = new List<string>();
        foreach (var job in report.Jobs)
        {
            var folder = $"jobs/input/{job.JobName}/";
            var files = new (string Key, string Name)[]
            {
                (folder + LabelingJobFactory.ManifestFileName, job.JobName + ".manifest"),
                (folder + LabelingJobFactory.LabelCategoriesFileName, job.JobName + ".label-categories.json"),
                (folder + LabelingJobFactory.TemplateFileName, job.JobName + "." + LabelingJobFactory.TemplateFileName),
            };
            foreach (var (key, name) in files)
            {
                var (bytes, _) = objects.Written[(options.DataBucket, key)];
                await AtomicFile.WriteAsync(Path.Combine(dir, name), bytes, ct).ConfigureAwait(false);
                written.Add(name);
            }

            var requestName = job.JobName + ".create-labeling-job.json";
            await AtomicFile.WriteAsync(Path.Combine(dir, requestName), DryRunSageMakerClient.Body(sageMaker.Created[job.JobName]), ct).ConfigureAwait(false);
            written.Add(requestName);
        }

        return written;
    }

    private static void Print(List<IngestOutcome> outcomes, BatchRunReport report, List<string> written)
    {
        var ingest = new Table().Title("ingest").AddColumn("reason").AddColumn(new TableColumn("records").RightAligned());
        foreach (var g in outcomes.GroupBy(o => o.Reason).OrderByDescending(g => g.Count()))
        {
            ingest.AddRow(Markup.Escape(g.Key), g.Count().ToString(CultureInfo.InvariantCulture));
        }

        AnsiConsole.Write(ingest);
        var jobs = new Table().Title($"jobs (decision: {Markup.Escape(report.Decision)}, cap {report.JobSizeCap:N0})")
            .AddColumn("job").AddColumn(new TableColumn("items").RightAligned()).AddColumn(new TableColumn("forecast USD").RightAligned()).AddColumn("task type");
        foreach (var j in report.Jobs)
        {
            jobs.AddRow(Markup.Escape(j.JobName), j.Items.ToString(CultureInfo.InvariantCulture), j.ForecastUsd.ToString("0.00##", CultureInfo.InvariantCulture),
                j.Adjustment ? BuiltInLambdas.AdjustmentBoundingBox : BuiltInLambdas.BoundingBox);
        }

        AnsiConsole.Write(jobs);
        AnsiConsole.MarkupLine($"pending: {report.PendingBefore} before, {report.PendingAfter} after");
        foreach (var f in written)
        {
            AnsiConsole.MarkupLine($"wrote [grey]{Markup.Escape(f)}[/]");
        }
    }
}
