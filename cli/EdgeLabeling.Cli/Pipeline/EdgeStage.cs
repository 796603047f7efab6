using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.Edge;
using EdgeLabeling.Edge.Fleet;
using EdgeLabeling.Edge.Hosting;
using EdgeLabeling.Edge.Intake;
using EdgeLabeling.Edge.Status;
using EdgeLabeling.Edge.Upload;
using EdgeLabeling.Inference;
using EdgeLabeling.Routing;
using EdgeLabeling.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeLabeling.Cli.Pipeline;

/// <summary>One input image: its file, size and content hash (the hash is how dataset lines find it again).</summary>
/// <param name="UploadSha256">Hash of the bytes the edge uploads when it re-encodes the file (EXIF-rotated or downscaled); null when it sends the file as is.</param>
internal sealed record InputImage(string Path, string FileName, long Bytes, string Sha256, string? UploadSha256 = null)
{
    /// <summary>Every content address a dataset line of this image can carry.</summary>
    public IEnumerable<string> Addresses => UploadSha256 is null ? [Sha256] : [Sha256, UploadSha256];
}

/// <summary>What the edge component did with the images.</summary>
internal sealed record EdgeStageResult(
    string ThingName,
    int Images,
    long InputBytes,
    IReadOnlyDictionary<string, long> Outcomes,
    long BytesUploaded,
    long ObjectsUploaded,
    long Drops,
    TimeSpan Elapsed)
{
    public long Count(RoutingOutcome outcome) => Outcomes.TryGetValue(outcome.ToWire(), out var n) ? n : 0;

    /// <summary>Images routed to people (review + audit) among those decided on; duplicates and quarantined files never reach people.</summary>
    public double ReviewShare
    {
        get
        {
            var toPeople = Count(RoutingOutcome.HumanReview) + Count(RoutingOutcome.Audit);
            var decided = toPeople + Count(RoutingOutcome.AutoLabel);
            return decided == 0 ? 0 : (double)toPeople / decided;
        }
    }

    public long AverageImageBytes => Images == 0 ? 0 : InputBytes / Images;
}

/// <summary>
/// Runs the real edge component (<c>AddEdgeComponent</c>: intake, ONNX detector, routing, durable outbox,
/// uploader, status) as an in-process Generic Host over a copy of the images, the way the Greengrass worker
/// runs on a device, and stops it once the watched folder is drained and the queue is empty.
/// </summary>
internal static class EdgeStage
{
    public const string ThingName = "pipeline-site-1";
    public const string Region = "us-east-1";

    /// <summary>The frames the component would take from the folder; a clear error when there is no folder or no image in it.</summary>
    public static IReadOnlyList<string> ImageFiles(string imagesDirectory)
    {
        if (!Directory.Exists(imagesDirectory))
        {
            throw new PipelineInputException($"images folder '{imagesDirectory}' does not exist");
        }

        var files = Directory.EnumerateFiles(imagesDirectory)
            .Where(f => InboxScanner.IsImageName(Path.GetFileName(f)) && !InboxScanner.IsTemporaryName(Path.GetFileName(f)))
            .Order(StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0)
        {
            throw new PipelineInputException($"images folder '{imagesDirectory}' has no {ObjectKeyLayout.ImageExtensionsText} files");
        }

        return files;
    }

    public static IReadOnlyList<InputImage> ListImages(string imagesDirectory, UploadImageNormalizer uploadForm)
    {
        var files = ImageFiles(imagesDirectory);
        return files.Select(f =>
        {
            var bytes = File.ReadAllBytes(f);
            var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
            var upload = uploadForm.UploadBytes(bytes);
            var uploadSha = upload.Span == bytes.AsSpan() ? null : Convert.ToHexStringLower(SHA256.HashData(upload.Span));
            return new InputImage(f, Path.GetFileName(f), bytes.Length, sha, uploadSha);
        }).ToList();
    }

    /// <summary>
    /// The re-encode the component applies before upload, with the pipeline's edge settings: the images' keys
    /// (and so the dataset lines) carry the hash of those bytes, not of the sample file.
    /// </summary>
    public static UploadImageNormalizer UploadForm(PipelineConfig config)
    {
        static int Setting(PipelineConfig c, string name, int fallback) =>
            c.Edge.FirstOrDefault(kv => string.Equals(kv.Key, name, StringComparison.OrdinalIgnoreCase)).Value is { } v
            && int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : fallback;

        var options = new EdgeOptions();
        try
        {
            return new UploadImageNormalizer(Setting(config, nameof(EdgeOptions.UploadMaxSide), options.UploadMaxSide), Setting(config, nameof(EdgeOptions.UploadJpegQuality), options.UploadJpegQuality));
        }
        catch (ArgumentOutOfRangeException ex)
        {
            throw new PipelineInputException("edge component configuration: " + ex.Message);
        }
    }

    public static async Task<EdgeStageResult> RunAsync(
        PipelineRequest request, PipelineConfig config, IObjectStore store, string bucket, IReadOnlyList<InputImage> images, IPipelineProgress progress, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var root = Path.Combine(request.OutputDirectory, "edge");
        var inbox = Path.Combine(root, "inbox");
        var work = Path.Combine(root, "work");
        Directory.CreateDirectory(inbox);
        Directory.CreateDirectory(work);

        // The watched folder gets a copy: the component deletes what it has queued, as it does with camera frames.
        foreach (var image in images)
        {
            File.Copy(image.Path, Path.Combine(inbox, image.FileName), overwrite: true);
        }

        var settings = Settings(request, config, bucket, inbox, work, root);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, Args = [] });
        builder.Configuration.AddInMemoryCollection(settings);
        using var logs = new FileLoggerProvider(Path.Combine(root, "component.log"));
        builder.Logging.ClearProviders();
        builder.Logging.AddProvider(logs);
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Services.AddEdgeComponent(builder.Configuration, new EdgeComponentOverrides { Stores = _ => new FixedObjectStoreProvider(store) });

        using var host = builder.Build();
        try
        {
            await host.StartAsync(ct).ConfigureAwait(false);
        }
        catch (OptionsValidationException ex)
        {
            throw new PipelineInputException("edge component configuration: " + string.Join("; ", ex.Failures));
        }
        catch (Exception ex) when (EdgeComponentHost.IsConfigurationError(ex))
        {
            var inner = ex is InvalidOperationException { InnerException: { } i } ? i : ex;
            if (inner is ModelLoadException model)
            {
                throw model;
            }

            throw new PipelineInputException("edge component configuration: " + inner.Message);
        }

        var status = host.Services.GetRequiredService<StatusWriter>();
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        var timeout = TimeSpan.FromSeconds(60 + (2 * images.Count));
        DateTime? offlineSince = null;
        while (true)
        {
            var s = status.Build();
            var decided = s.Outcomes.Values.Sum();
            progress.Update($"{decided}/{images.Count} images decided, {s.QueuedItems} queued, {s.BytesUploaded / 1e6:0.00} MB uploaded");
            var inboxEmpty = !Directory.EnumerateFiles(inbox).Any(f => InboxScanner.IsImageName(Path.GetFileName(f)));
            if (decided >= images.Count && inboxEmpty && s.QueuedItems == 0)
            {
                break;
            }

            offlineSince = s.Online ? null : offlineSince ?? DateTime.UtcNow;
            if (lifetime.ApplicationStopping.IsCancellationRequested)
            {
                throw new PipelineStageException("edge", $"the component stopped on its own ({s.LastIntakeError ?? s.LastUploadError ?? "see edge/component.log"})");
            }

            if (offlineSince is { } since && DateTime.UtcNow - since > TimeSpan.FromSeconds(20))
            {
                throw new PipelineStageException("edge", $"uploads keep failing ({s.LastUploadErrorKind}): {s.LastUploadError}");
            }

            if (clock.Elapsed > timeout)
            {
                throw new PipelineStageException("edge", $"not drained after {timeout.TotalSeconds:0} s: {decided}/{images.Count} images decided, {s.QueuedItems} items queued (see edge/component.log)");
            }

            await Task.Delay(100, ct).ConfigureAwait(false);
        }

        // The drained state goes to the fleet view now rather than at the next heartbeat interval.
        await host.Services.GetServices<IHostedService>().OfType<HeartbeatWorker>().Single().SendNowAsync(ct).ConfigureAwait(false);
        await host.StopAsync(CancellationToken.None).ConfigureAwait(false);
        var final = status.Build();
        return new EdgeStageResult(
            ThingName,
            images.Count,
            images.Sum(i => i.Bytes),
            final.Outcomes,
            final.BytesUploaded,
            final.ObjectsUploaded,
            final.Drops,
            clock.Elapsed);
    }

    /// <summary>The component's options as the Greengrass recipe would pass them, tuned for a quick local run, then the user's overrides.</summary>
    private static Dictionary<string, string?> Settings(PipelineRequest request, PipelineConfig config, string bucket, string inbox, string work, string root)
    {
        var routing = config.Routing?.DeepClone().AsObject() ?? [];
        routing["auditSeed"] ??= request.Seed;
        var routingPath = Path.Combine(root, "routing.json");
        File.WriteAllText(routingPath, routing.ToJsonString());

        var settings = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["ThingName"] = ThingName,
            ["Camera"] = "cam1",
            ["InputDirectory"] = inbox,
            ["WorkDirectory"] = work,
            ["ModelPath"] = request.ModelPath,
            ["Bucket"] = bucket,
            ["Region"] = Region,
            ["S3Endpoint"] = request.S3Endpoint ?? "",
            ["RoutingConfigPath"] = routingPath,

            // Frames are complete before the host starts, so there is nothing to wait out; send label batches at once.
            ["FileStableMilliseconds"] = "0",
            ["PollMilliseconds"] = "50",
            ["AutoLabelBatchMaxWaitSeconds"] = "0",
            ["StatusIntervalSeconds"] = "1",
            ["RetryMaxBackoffSeconds"] = "2",
        };

        foreach (var (key, value) in config.Edge)
        {
            settings[key] = value;
        }

        return settings;
    }
}
