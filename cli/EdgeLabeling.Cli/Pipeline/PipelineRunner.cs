using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3.Model;
using EdgeLabeling.Labeling.Estimation;
using EdgeLabeling.Contracts;
using EdgeLabeling.Evaluation;
using EdgeLabeling.Inference;
using EdgeLabeling.Labeling.Batching;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Cli.Pipeline;

/// <summary>Where the run's objects went.</summary>
internal sealed record StoreInfo(string Kind, string Location, string IncomingBucket, string DataBucket);

/// <summary>The dataset the merge wrote, copied to OUTPUT/dataset/.</summary>
internal sealed record DatasetInfo(string ManifestPath, string CocoPath, int Lines, int HumanLines, int ModelLines, int CocoImages, int CocoAnnotations, DatasetBuildReport? Build);

/// <summary>Everything the report shows.</summary>
internal sealed record PipelineResult
{
    public required DateTimeOffset StartedUtc { get; init; }
    public required PipelineRequest Request { get; init; }
    public required DetectorInfo Model { get; init; }
    public required StoreInfo Store { get; init; }
    public required EdgeStageResult Edge { get; init; }
    public required IngestSummary Ingest { get; init; }
    public required IReadOnlyList<JobReport> Jobs { get; init; }
    public required IReadOnlyList<string> BatchDecisions { get; init; }
    public required TimeSpan SimulatedTimeAdvanced { get; init; }
    public required int BatchMinItems { get; init; }
    public required double BatchMaxAgeMinutes { get; init; }
    public required long PendingAtEnd { get; init; }
    public required DatasetInfo Dataset { get; init; }
    public required QualityReport Quality { get; init; }
    public required Estimate ThisRun { get; init; }
    public required Estimate Backlog { get; init; }
    public required List<(string Stage, TimeSpan Elapsed)> Timings { get; init; }
    public Labeling.Fleet.FleetReport? Fleet { get; init; }

    /// <summary>Production precision measured by the merge on this run's audit images; null when there were none.</summary>
    public Labeling.Quality.ProductionPrecisionReport? Precision { get; init; }

}

/// <summary>
/// <c>edgelabel pipeline</c>: the whole loop on one machine with the real pieces — the edge component over
/// the sample images, an object store (a local folder, or any S3-compatible server), the ingest and batch
/// Lambdas driven by AWS-format events, the Ground Truth simulator with its simulated labelers, the merge
/// Lambda, then quality against the samples' ground truth and a cost forecast.
/// </summary>
internal static class PipelineRunner
{
    /// <summary>The product brief's backlog, for the forecast next to this run's own numbers.</summary>
    public const long BacklogImages = 20_000;

    public static async Task<PipelineResult> RunAsync(PipelineRequest request, IPipelineProgress progress, CancellationToken ct)
    {
        var started = DateTimeOffset.UtcNow;
        var total = Stopwatch.StartNew();
        var timings = new List<(string, TimeSpan)>();

        if (!File.Exists(request.ModelPath))
        {
            throw new PipelineInputException($"model file '{request.ModelPath}' does not exist");
        }

        if (!Directory.Exists(request.LabelsDirectory))
        {
            throw new PipelineInputException($"labels folder '{request.LabelsDirectory}' does not exist");
        }

        var config = PipelineConfig.Load(request.ConfigPath);
        var images = EdgeStage.ListImages(request.ImagesDirectory, EdgeStage.UploadForm(config));
        DetectorInfo model;
        using (var detector = new OnnxDetector(new OnnxDetectorOptions { ModelPath = request.ModelPath }))
        {
            model = detector.Info;
        }

        PrepareOutput(request.OutputDirectory);
        var (store, storeInfo) = await OpenStoreAsync(request, ct).ConfigureAwait(false);

        // Checked before the edge runs, so a typo in the cloud settings fails in a second, not after the edge stage.
        var options = CloudStage.BuildOptions(request, config, storeInfo.IncomingBucket, storeInfo.DataBucket, model.ClassNames, storeInfo.Kind == "embedded" ? storeInfo.Location : null);

        var watch = Stopwatch.StartNew();
        progress.Stage("edge component");
        var edge = await EdgeStage.RunAsync(request, config, store, storeInfo.IncomingBucket, images, progress, ct).ConfigureAwait(false);
        timings.Add(("edge", edge.Elapsed));
        progress.Done("edge component", $"{edge.Images} images: {edge.Count(RoutingOutcome.AutoLabel)} auto-labeled, {edge.Count(RoutingOutcome.HumanReview)} review, {edge.Count(RoutingOutcome.Audit)} audit, "
            + $"{edge.Count(RoutingOutcome.Duplicate)} duplicates, {edge.Count(RoutingOutcome.Quarantine)} quarantined; {Mb(edge.BytesUploaded)} uploaded of {Mb(edge.InputBytes)}", edge.Elapsed);

        await using var cloud = await CloudStage.StartAsync(request, config, options, store, ct).ConfigureAwait(false);

        watch.Restart();
        progress.Stage("ingest and batching");
        var ingest = await cloud.IngestAndBatchAsync(storeInfo.IncomingBucket, progress, ct).ConfigureAwait(false);
        timings.Add(("ingest + batch", watch.Elapsed));
        progress.Done("ingest and batching", $"{ingest.Messages} S3 notifications in {ingest.Invocations} ingest invocations → {cloud.Jobs.Count} Ground Truth job(s) of {string.Join(", ", cloud.Jobs.Select(j => j.Items))} image(s)", watch.Elapsed);

        var fleet = await PipelineFleet.RunAsync(request.OutputDirectory, store, options, storeInfo.IncomingBucket, ct).ConfigureAwait(false);

        watch.Restart();
        if (request.Labelers == PipelineRequest.People)
        {
            progress.Stage("labeling (people, review app)");
            await cloud.ReviewAsync(request, progress, ct).ConfigureAwait(false);
            timings.Add(("labeling (people)", watch.Elapsed));
            progress.Done("labeling (people, review app)", $"{cloud.Jobs.Count(j => j.Status == "Completed")}/{cloud.Jobs.Count} job(s) completed and merged", watch.Elapsed);
        }
        else
        {
            progress.Stage("labeling (simulated workforce)");
            await cloud.LabelAsync(progress, ct).ConfigureAwait(false);
            timings.Add(("labeling (simulated)", watch.Elapsed));
            progress.Done("labeling (simulated workforce)", $"{cloud.Jobs.Count(j => j.Status == "Completed")}/{cloud.Jobs.Count} job(s) completed", watch.Elapsed);
        }

        watch.Restart();
        progress.Stage("merge");
        await cloud.MergeAsync(progress, ct).ConfigureAwait(false);
        var (manifest, coco, build) = await cloud.ExportDatasetAsync(Path.Combine(request.OutputDirectory, "dataset"), ct).ConfigureAwait(false);
        var dataset = Describe(manifest, coco, build, options.LabelAttribute);
        var pending = await cloud.PendingAsync(ct).ConfigureAwait(false);
        var precision = await PipelinePrecision.RunAsync(store, storeInfo.DataBucket, options.LabelAttribute, options.ProductionPrecision, ct).ConfigureAwait(false);
        timings.Add(("merge", watch.Elapsed));
        progress.Done("merge", $"{dataset.Lines} dataset lines ({dataset.HumanLines} by people, {dataset.ModelLines} automatic), {cloud.Jobs.Sum(j => j.Returned)} image(s) back to pending", watch.Elapsed);

        watch.Restart();
        progress.Stage("evaluation");
        var sidecars = await LoadSidecarsAsync(store, storeInfo.IncomingBucket, ct).ConfigureAwait(false);
        var quality = DatasetQuality.Evaluate(manifest, options.LabelAttribute, model.ClassNames.Count, new PipelineSamples(images, request.LabelsDirectory, sidecars).Find);
        timings.Add(("evaluation", watch.Elapsed));
        progress.Done("evaluation", string.Create(CultureInfo.InvariantCulture, $"merged labels: precision {quality.Merged.Precision * 100:0.0}%, recall {quality.Merged.Recall * 100:0.0}%, mAP@0.5 {quality.Merged.Map50:0.000}"), watch.Elapsed);

        var result = new PipelineResult
        {
            StartedUtc = started,
            Request = request,
            Model = model,
            Store = storeInfo,
            Edge = edge,
            Ingest = ingest,
            Jobs = cloud.Jobs,
            BatchDecisions = cloud.BatchDecisions,
            SimulatedTimeAdvanced = cloud.SimulatedTimeAdvanced,
            BatchMinItems = options.Batching.MinItems,
            BatchMaxAgeMinutes = options.Batching.MaxAge.TotalMinutes,
            PendingAtEnd = pending,
            Dataset = dataset,
            Quality = quality,
            ThisRun = Forecast(edge.Images, edge.ReviewShare, edge.AverageImageBytes, options.Budget),
            Backlog = Forecast(BacklogImages, edge.ReviewShare, edge.AverageImageBytes, options.Budget),
            Timings = timings,
            Fleet = fleet,
            Precision = precision,
        };

        watch.Restart();
        progress.Stage("report");
        PipelineReportWriter.WriteCharts(result);
        timings.Add(("report", watch.Elapsed));
        timings.Add(("total", total.Elapsed));
        PipelineReportWriter.WriteFiles(result);
        progress.Done("report", $"{Path.Combine(request.OutputDirectory, "report.md")}", watch.Elapsed);
        return result;
    }

    private static Estimate Forecast(long images, double share, long averageBytes, BudgetPolicy budget) =>
        LabelingEstimator.Run(new EstimateInput
        {
            Images = images,
            ReviewShare = share,
            AverageImageBytes = averageBytes,
            Budget = budget with { MonthlyBudgetUsd = decimal.MaxValue / 4 },
        });

    /// <summary>Removes what an earlier run left in the folders this command writes, and nothing else.</summary>
    private static void PrepareOutput(string output)
    {
        Directory.CreateDirectory(output);
        foreach (var dir in new[] { "edge", "cloud", "object-store", "dataset", "charts" })
        {
            var path = Path.Combine(output, dir);
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }

        foreach (var file in new[] { "report.json", "report.md" })
        {
            File.Delete(Path.Combine(output, file));
        }
    }

    private static async Task<(IObjectStore Store, StoreInfo Info)> OpenStoreAsync(PipelineRequest request, CancellationToken ct)
    {
        if (request.S3Endpoint is null)
        {
            var root = Path.Combine(request.OutputDirectory, "object-store");
            Directory.CreateDirectory(root);
            return (new FileSystemObjectStore(root), new StoreInfo("embedded", root, "edgelabel-incoming", "edgelabel-data"));
        }

        if (!Uri.TryCreate(request.S3Endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new PipelineInputException($"--s3-endpoint '{request.S3Endpoint}' is not an http(s) URL");
        }

        var key = Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID");
        var secret = Environment.GetEnvironmentVariable("AWS_SECRET_ACCESS_KEY");
        if (string.IsNullOrEmpty(key) || string.IsNullOrEmpty(secret))
        {
            throw new PipelineInputException("--s3-endpoint needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment (`scripts/rgw.sh env` prints them for radosgw)");
        }

        // S3-compatible servers reject the SDK v4 default CRC trailers (WHEN_REQUIRED); path-style addressing comes with the endpoint override.
        var settings = new S3Settings { ServiceUrl = request.S3Endpoint, Region = Environment.GetEnvironmentVariable("AWS_REGION") ?? EdgeStage.Region, ChecksumWhenRequired = true, Timeout = TimeSpan.FromSeconds(20) };
        var client = settings.CreateClient(new BasicAWSCredentials(key, secret));

        // Fresh buckets per run: objects are content-addressed, so a reused bucket would mix in an earlier run's uploads.
        var stamp = DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture) + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3));
        var incoming = $"edgelabel-{stamp}-incoming";
        var data = $"edgelabel-{stamp}-data";
        foreach (var bucket in new[] { incoming, data })
        {
            try
            {
                await client.PutBucketAsync(new PutBucketRequest { BucketName = bucket }, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is AmazonServiceException or AmazonClientException or HttpRequestException or IOException)
            {
                throw new PipelineStageException("object store", $"cannot create bucket {bucket} at {request.S3Endpoint}: {ex.Message}", ex);
            }
        }

        return (new S3ObjectStore(client, settings), new StoreInfo("s3", request.S3Endpoint, incoming, data));
    }

    private static async Task<Dictionary<string, SidecarFacts>> LoadSidecarsAsync(IObjectStore store, string bucket, CancellationToken ct)
    {
        var facts = new Dictionary<string, SidecarFacts>(StringComparer.OrdinalIgnoreCase);
        await foreach (var o in store.ListAsync(bucket, ObjectKeyLayout.IncomingPrefix, ct).ConfigureAwait(false))
        {
            if (!o.Key.EndsWith(ObjectKeyLayout.SidecarSuffix, StringComparison.Ordinal))
            {
                continue;
            }

            // Sidecars are stored gzip-compressed by the edge; the helper decodes either form under the ingest's limit.
            var bytes = await ObjectContent.ReadJsonBytesAsync(store, bucket, o.Key, ReviewRecord.MaxSidecarBytes, ct).ConfigureAwait(false);
            if (bytes is null)
            {
                continue;
            }

            var record = ReviewRecord.Parse(bytes);
            facts[record.ImageSha256] = new SidecarFacts(record.Outcome, record.OriginalFile, record.PreAnnotations.Select(p => p.ToPixelBox()).ToList());
        }

        return facts;
    }

    private static DatasetInfo Describe(string manifest, string coco, DatasetBuildReport? build, string attribute)
    {
        int lines = 0, human = 0;
        foreach (var line in File.ReadLines(manifest))
        {
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            lines++;
            if (GroundTruthManifest.Parse(line, attribute).HumanAnnotated)
            {
                human++;
            }
        }

        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllBytes(coco));
        var cocoImages = doc.RootElement.GetProperty("images").GetArrayLength();
        var cocoAnnotations = doc.RootElement.GetProperty("annotations").GetArrayLength();
        return new DatasetInfo(manifest, coco, lines, human, lines - human, cocoImages, cocoAnnotations, build);
    }

    public static string Mb(long bytes) => (bytes / 1e6).ToString("0.00", CultureInfo.InvariantCulture) + " MB";
}
