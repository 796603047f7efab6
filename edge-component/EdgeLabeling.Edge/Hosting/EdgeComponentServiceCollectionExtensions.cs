using Amazon.Runtime;
using EdgeLabeling.Contracts;
using EdgeLabeling.Edge.Fleet;
using EdgeLabeling.Edge.Intake;
using EdgeLabeling.Edge.Queue;
using EdgeLabeling.Edge.Status;
using EdgeLabeling.Edge.Upload;
using EdgeLabeling.Inference;
using EdgeLabeling.Routing;
using EdgeLabeling.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EdgeLabeling.Edge.Hosting;

/// <summary>Seams tests use to run the same graph with a different labeler, store or clock.</summary>
public sealed class EdgeComponentOverrides
{
    /// <summary>Replaces the ONNX detector + routing labeler (no model file is then required).</summary>
    public Func<IServiceProvider, IImageLabeler>? Labeler { get; init; }

    /// <summary>Replaces the S3 store (e.g. a <see cref="FileSystemObjectStore"/>).</summary>
    public Func<IServiceProvider, IObjectStoreProvider>? Stores { get; init; }

    /// <summary>Explicit S3 credentials instead of the SDK default chain.</summary>
    public AWSCredentials? Credentials { get; init; }

    public TimeProvider? Time { get; init; }
}

public static class EdgeComponentServiceCollectionExtensions
{
    /// <summary>
    /// Registers the whole edge component: options (bound from <paramref name="configuration"/>, validated at
    /// start), the outbox, the labeler (ONNX detector + routing policy), the S3 uploader and the three
    /// loops — status, intake, upload — each its own <see cref="BackgroundService"/>.
    /// </summary>
    public static IServiceCollection AddEdgeComponent(this IServiceCollection services, IConfiguration configuration, EdgeComponentOverrides? overrides = null)
    {
        overrides ??= new EdgeComponentOverrides();
        services.AddOptions<EdgeOptions>()
            .Bind(configuration)
            .PostConfigure(o => o.ApplyEnvironmentDefaults(Environment.GetEnvironmentVariable))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<EdgeOptions>>(new EdgeOptionsValidator { RequireModel = overrides.Labeler is null });
        services.Configure<HostOptions>(h =>
        {
            // Greengrass sends SIGKILL 5 s after SIGTERM; leave margin for process teardown.
            h.ShutdownTimeout = TimeSpan.FromSeconds(3);
            h.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.StopHost;
        });

        services.TryAddSingleton(overrides.Time ?? TimeProvider.System);
        services.AddSingleton<EdgeState>();
        services.AddSingleton<QueueSignal>();
        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<EdgeOptions>>().Value;
            var outbox = Outbox.Open(Path.Combine(o.WorkDirectory, "queue"), o.DiskQuotaBytes, o.EvictionPolicy);
            var log = sp.GetRequiredService<ILoggerFactory>().CreateLogger("EdgeLabeling.Edge.Outbox");
            var r = outbox.Recovery;
            log.LogInformation(
                "Queue opened at {Path}: {Temps} temp files and {Orphans} unacknowledged blobs removed, {Batches} label batch(es) to resume",
                outbox.DatabasePath, r.TempFilesRemoved, r.OrphanBlobsRemoved, r.BatchesResumed);
            foreach (var key in r.RowsWithMissingBlob)
            {
                log.LogError("Queued item {Key} lost its image file on disk; it was removed from the queue", key);
            }

            return outbox;
        });

        services.AddSingleton(sp => BuildRoutingOptions(sp.GetRequiredService<IOptions<EdgeOptions>>().Value));
        if (overrides.Labeler is not null)
        {
            services.AddSingleton(overrides.Labeler);
        }
        else
        {
            services.AddSingleton<IDetector>(sp =>
            {
                var o = sp.GetRequiredService<IOptions<EdgeOptions>>().Value;
                return new OnnxDetector(new OnnxDetectorOptions
                {
                    ModelPath = o.ModelPath,
                    LabelsPath = string.IsNullOrEmpty(o.LabelsPath) ? null : o.LabelsPath,
                    IntraOpThreads = o.InferenceThreads,
                });
            });
            services.AddSingleton<IImageLabeler>(sp =>
            {
                var detector = sp.GetRequiredService<IDetector>();
                return new ImageLabeler(detector, new RoutingPolicy(sp.GetRequiredService<RoutingOptions>(), detector.Info.ClassNames));
            });
        }

        services.AddSingleton(sp => new LabelRecords(sp.GetRequiredService<IImageLabeler>().Detector, sp.GetRequiredService<RoutingOptions>()));

        if (overrides.Stores is not null)
        {
            services.AddSingleton(overrides.Stores);
        }
        else
        {
            services.AddSingleton<IObjectStoreProvider>(sp => new S3ObjectStoreProvider(BuildS3Settings(sp.GetRequiredService<IOptions<EdgeOptions>>().Value), overrides.Credentials));
        }

        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<EdgeOptions>>().Value;
            var bucket = o.BandwidthBytesPerSecond > 0 ? new TokenBucket(o.BandwidthBytesPerSecond, time: sp.GetRequiredService<TimeProvider>()) : null;
            return new ObjectUploader(sp.GetRequiredService<IObjectStoreProvider>(), o.Bucket, bucket);
        });
        services.AddSingleton(sp => DeviceIdentity.Create(sp.GetRequiredService<IImageLabeler>(), sp.GetRequiredService<RoutingOptions>(), sp.GetRequiredService<IOptions<EdgeOptions>>()));
        services.AddSingleton<StatusWriter>();

        // Stopped in reverse order: intake and upload first, the status worker last so its final write sees them stopped.
        services.AddHostedService<StatusWorker>();
        services.AddHostedService<UploadWorker>();
        services.AddHostedService<IntakeWorker>();
        services.AddHostedService<HeartbeatWorker>();
        return services;
    }

    /// <summary>Routing options: the optional JSON file, then those of the component's own settings that are set.</summary>
    public static RoutingOptions BuildRoutingOptions(EdgeOptions o)
    {
        var file = string.IsNullOrEmpty(o.RoutingConfigPath) ? new RoutingOptions() : RoutingOptions.Load(o.RoutingConfigPath);
        return (file with
        {
            Thresholds = EffectiveThresholds(o, file.Thresholds),
            AuditRate = o.AuditRate ?? file.AuditRate,
            DeviceName = o.ThingName,
            SourceBucket = o.Bucket,
            LabelAttributeName = string.IsNullOrEmpty(o.LabelAttribute) ? file.LabelAttributeName : o.LabelAttribute,
        }).Validate();
    }

    /// <summary>
    /// The routing file's thresholds with each option that is set on top; the deployment's per-class thresholds
    /// (cdk.json routing.classThresholds) replace the file's as a whole. Throws <see cref="FormatException"/> for a
    /// malformed <see cref="EdgeOptions.ClassThresholds"/>.
    /// </summary>
    public static RoutingThresholds EffectiveThresholds(EdgeOptions o, RoutingThresholds file) => file with
    {
        AutoAcceptThreshold = o.AutoAcceptThreshold ?? file.AutoAcceptThreshold,
        UncertainLow = o.UncertainLow ?? file.UncertainLow,
        ClassThresholds = string.IsNullOrWhiteSpace(o.ClassThresholds) ? file.ClassThresholds : RoutingThresholds.ParseClassThresholds(o.ClassThresholds),
    };

    /// <summary>S3 settings from the component options.</summary>
    public static S3Settings BuildS3Settings(EdgeOptions o) => new()
    {
        ServiceUrl = string.IsNullOrEmpty(o.S3Endpoint) ? null : o.S3Endpoint,
        Region = o.Region,
        // S3-compatible servers reject the SDK v4 default CRC trailers; AWS accepts either.
        ChecksumWhenRequired = o.ChecksumMode switch
        {
            "when-required" => true,
            "when-supported" => false,
            _ => !string.IsNullOrEmpty(o.S3Endpoint),
        },
        MultipartThresholdBytes = o.MultipartThresholdBytes,
        Timeout = TimeSpan.FromSeconds(o.S3TimeoutSeconds),
    };
}
