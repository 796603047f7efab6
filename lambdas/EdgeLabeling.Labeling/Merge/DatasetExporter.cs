using System.Text.Json;
using EdgeLabeling.Contracts;
using EdgeLabeling.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EdgeLabeling.Labeling.Merge;

/// <summary>Which export files to write, and where.</summary>
public sealed record DatasetExportRequest
{
    /// <summary>Local folder receiving dataset.manifest, coco.json, yolo/ and build-report.json.</summary>
    public required string Directory { get; init; }

    public bool Coco { get; init; } = true;
    public bool Yolo { get; init; }

    /// <summary>Also upload dataset.manifest, coco.json and build-report.json to dataset/&lt;attr&gt;/ in the data bucket.</summary>
    public bool Upload { get; init; }

    /// <summary>creation-date for lines that carry none, so two exports of the same shards give the same bytes.</summary>
    public DateTimeOffset FallbackCreationDate { get; init; } = DateTimeOffset.UnixEpoch;
}

/// <summary>The files one export wrote.</summary>
public sealed record DatasetExportResult(DatasetBuildReport Report, string ManifestPath, string? CocoPath, string? YoloDirectory, int Shards, int AutoLabelBatches);

/// <summary>
/// Builds the dataset on demand from every job shard (dataset/&lt;attr&gt;/jobs/*.manifest) and every auto-label
/// batch (auto-labels/ in each auto-label bucket): one line per image with human labels winning, plus COCO
/// and YOLO. This is the O(dataset) step the per-job merge no longer does; run it when a training set is
/// needed (<c>edgelabel export</c>). A shard merged while an export runs is in the next export. The
/// model-vs-people agreement in the report is the index's (measured per job at merge time from the boxes
/// each job was given; audits are the images the edge sent as audit samples).
/// </summary>
public sealed class DatasetExporter(IObjectStore store, MergeOptions options, DatasetBuilder builder, ILogger<DatasetExporter>? logger = null)
{
    public const string ManifestFileName = "dataset.manifest";
    public const string CocoFileName = "coco.json";
    public const string YoloFolderName = "yolo";
    public const string ReportFileName = "build-report.json";

    private readonly ILogger _logger = logger ?? NullLogger<DatasetExporter>.Instance;

    public async Task<DatasetExportResult> ExportAsync(DatasetExportRequest request, CancellationToken cancellationToken = default)
    {
        var attr = options.DatasetAttribute;
        var shards = await ListManifestsAsync(options.DataBucket, DatasetKeys.JobShardPrefix(attr), cancellationToken).ConfigureAwait(false);
        var autos = new List<ManifestSource>();
        foreach (var autoBucket in options.AutoLabelBuckets.Count > 0 ? options.AutoLabelBuckets : [options.DataBucket])
        {
            autos.AddRange((await ListManifestsAsync(autoBucket, LabelingConventions.AutoLabelsPrefix, cancellationToken).ConfigureAwait(false))
                .Select(k => ManifestSource.FromStore(store, autoBucket, k)));
        }

        var buildRequest = new DatasetBuildRequest
        {
            DatasetAttribute = attr,
            HumanSources = [.. shards.Select(k => ManifestSource.FromStore(store, options.DataBucket, k))],
            AutoLabelSources = autos,
            WorkDirectory = options.WorkDirectory,
            AgreementIouThreshold = options.AgreementIouThreshold,
            FallbackCreationDate = request.FallbackCreationDate,
        };

        Directory.CreateDirectory(request.Directory);
        var manifestPath = Path.Combine(request.Directory, ManifestFileName);
        var cocoPath = request.Coco ? Path.Combine(request.Directory, CocoFileName) : null;
        var yoloDirectory = request.Yolo ? Path.Combine(request.Directory, YoloFolderName) : null;
        DatasetBuildReport report;
        await using (var ds = new FileStream(manifestPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
        await using (var cs = cocoPath is null ? null : new FileStream(cocoPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
        {
            report = await builder.BuildAsync(buildRequest, ds, cs, yoloDirectory, cancellationToken).ConfigureAwait(false);
        }

        // Shards hold one label per image, not the model's prior boxes: agreement was measured per job at merge time.
        if (await store.ReadBytesAsync(options.DataBucket, DatasetKeys.IndexKey(attr), cancellationToken).ConfigureAwait(false) is { } indexBytes
            && JsonSerializer.Deserialize(indexBytes, DatasetIndexJsonContext.Default.DatasetIndex) is { } index)
        {
            var totals = index.Totals(options.AgreementIouThreshold);
            report = report with { AuditAgreement = totals.Audit, ReviewedAgreement = totals.Reviewed };
        }

        var reportBytes = JsonSerializer.SerializeToUtf8Bytes(report, MergeJsonContext.Default.DatasetBuildReport);
        await File.WriteAllBytesAsync(Path.Combine(request.Directory, ReportFileName), reportBytes, cancellationToken).ConfigureAwait(false);
        if (request.Upload)
        {
            await PutFileAsync(DatasetKeys.DatasetManifestKey(attr), manifestPath, "application/jsonlines", cancellationToken).ConfigureAwait(false);
            if (cocoPath is not null)
            {
                await PutFileAsync(DatasetKeys.CocoKey(attr), cocoPath, "application/json", cancellationToken).ConfigureAwait(false);
            }

            await store.PutBytesAsync(options.DataBucket, DatasetKeys.BuildReportKey(attr), reportBytes, "application/json", cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        _logger.LogInformation("Exported dataset '{Attribute}': {Images} images from {Shards} job shard(s) and {Batches} auto-label batch(es)", attr, report.TotalImages, shards.Count, autos.Count);
        return new DatasetExportResult(report, manifestPath, cocoPath, yoloDirectory, shards.Count, autos.Count);
    }

    private async Task PutFileAsync(string key, string path, string contentType, CancellationToken cancellationToken)
    {
        await using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
        await store.PutAsync(options.DataBucket, key, fs, contentType, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    private async Task<List<string>> ListManifestsAsync(string bucket, string prefix, CancellationToken cancellationToken)
    {
        var keys = new List<string>();
        await foreach (var o in store.ListAsync(bucket, prefix, cancellationToken).ConfigureAwait(false))
        {
            if (o.Key.EndsWith(".manifest", StringComparison.Ordinal))
            {
                keys.Add(o.Key);
            }
        }

        keys.Sort(StringComparer.Ordinal);
        return keys;
    }
}
