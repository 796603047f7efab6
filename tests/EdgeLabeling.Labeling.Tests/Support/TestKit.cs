using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Events;
using EdgeLabeling.Labeling.SageMaker;

namespace EdgeLabeling.Labeling.Tests.Support;

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>Keeps every metric line for assertions.</summary>
public sealed class RecordingMetrics : ILabelingMetrics
{
    public ConcurrentQueue<(string Name, double Value, IReadOnlyDictionary<string, string> Dimensions, IReadOnlyDictionary<string, string> Properties)> Lines { get; } = new();

    public void Emit(string name, double value, string unit, IReadOnlyDictionary<string, string>? dimensions = null, IReadOnlyDictionary<string, string>? properties = null) =>
        Lines.Enqueue((name, value, dimensions ?? new Dictionary<string, string>(), properties ?? new Dictionary<string, string>()));

    public double Sum(string name, string? dimension = null, string? value = null) =>
        Lines.Where(l => l.Name == name && (dimension is null || (l.Dimensions.TryGetValue(dimension, out var v) && v == value))).Sum(l => l.Value);
}

/// <summary>
/// An in-memory SageMaker that keeps created jobs, rejects duplicate names case-insensitively the way
/// the service does, and validates every request with the shared validator.
/// </summary>
public sealed class FakeSageMaker : ISageMakerClient
{
    public ConcurrentDictionary<string, CreateLabelingJobRequest> Jobs { get; } = new(StringComparer.OrdinalIgnoreCase);
    public int CreateCalls;

    /// <summary>Runs before each create; throw from it to simulate failures.</summary>
    public Action<CreateLabelingJobRequest>? BeforeCreate { get; set; }

    /// <summary>Create the job and then throw (a timeout after the service accepted the call).</summary>
    public bool LoseNextResponse { get; set; }

    public Task<CreateLabelingJobResponse> CreateLabelingJobAsync(CreateLabelingJobRequest request, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref CreateCalls);
        var problems = CreateLabelingJobValidator.Validate(request);
        if (problems.Count > 0)
        {
            throw new SageMakerValidationException(string.Join("; ", problems), System.Net.HttpStatusCode.BadRequest);
        }

        BeforeCreate?.Invoke(request);
        if (!Jobs.TryAdd(request.LabelingJobName!, request))
        {
            throw new SageMakerResourceInUseException($"Job {request.LabelingJobName} already exists", System.Net.HttpStatusCode.BadRequest);
        }

        if (LoseNextResponse)
        {
            LoseNextResponse = false;
            throw new HttpRequestException("response lost (simulated timeout)");
        }

        return Task.FromResult(new CreateLabelingJobResponse { LabelingJobArn = Arn(request.LabelingJobName!) });
    }

    public Task<DescribeLabelingJobResponse> DescribeLabelingJobAsync(string labelingJobName, CancellationToken cancellationToken = default)
    {
        if (!Jobs.TryGetValue(labelingJobName, out var r))
        {
            throw new SageMakerResourceNotFoundException($"Job {labelingJobName} not found", System.Net.HttpStatusCode.BadRequest);
        }

        return Task.FromResult(new DescribeLabelingJobResponse
        {
            LabelingJobName = r.LabelingJobName,
            LabelingJobArn = Arn(r.LabelingJobName!),
            LabelingJobStatus = "InProgress",
            InputConfig = r.InputConfig,
            OutputConfig = r.OutputConfig,
            Tags = r.Tags,
        });
    }

    public Task<ListLabelingJobsResponse> ListLabelingJobsAsync(ListLabelingJobsRequest request, CancellationToken cancellationToken = default) =>
        Task.FromResult(new ListLabelingJobsResponse
        {
            LabelingJobSummaryList = Jobs.Values.Select(j => new LabelingJobSummary { LabelingJobName = j.LabelingJobName, LabelingJobStatus = "InProgress" }).ToList(),
        });

    public Task StopLabelingJobAsync(string labelingJobName, CancellationToken cancellationToken = default) => Task.CompletedTask;

    public static string Arn(string name) => $"arn:aws:sagemaker:us-east-1:123456789012:labeling-job/{name}";
}

/// <summary>Builds images, sidecars and S3 events the way the edge and S3 produce them.</summary>
public static class Fixtures
{
    public const string Bucket = "edgelabel-incoming";
    public const string DataBucket = "edgelabel-data";
    public static readonly DateTimeOffset Start = new(2026, 11, 26, 6, 0, 0, TimeSpan.Zero);

    public static LabelingOptions Options(string pendingDb, Func<LabelingOptions, LabelingOptions>? tweak = null)
    {
        var o = new LabelingOptions
        {
            Region = "eu-west-1",
            IncomingBucket = Bucket,
            DataBucket = DataBucket,
            PendingDbPath = pendingDb,
            WorkteamArn = "arn:aws:sagemaker:eu-west-1:123456789012:workteam/private-crowd/edge-team",
            GroundTruthRoleArn = "arn:aws:iam::123456789012:role/edgelabel-gt",
            KmsKeyId = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            ClassNames = ["valve", "gauge"],
        };
        return tweak is null ? o : tweak(o);
    }

    public static string Sha(int n) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("image-" + n)));

    public static string ImageKey(int n, string thing = "site-7_cam:1") => ObjectKeyLayout.ImageKey(thing, Start, Sha(n), "jpg");

    public static ReviewRecord Review(int n, int boxes = 1, string thing = "site-7_cam:1") => new()
    {
        ImageSha256 = Sha(n),
        ImageKey = ImageKey(n, thing),
        ThingName = thing,
        CaptureTime = Start,
        ImageSize = new ImageSizeDto { Width = 640, Height = 480 },
        Outcome = "human-review",
        Reason = "uncertain",
        ClassNames = ["valve", "gauge", "pipe"],
        PreAnnotations = Enumerable.Range(0, boxes).Select(i => new PreAnnotation { ClassId = i % 3, Left = 10 + i, Top = 20, Width = 30, Height = 40, Confidence = 0.5 }).ToList(),
        Provenance = new Provenance { Source = "model", ModelSha256 = new string('a', 64), Device = thing },
    };

    /// <summary>One S3 ObjectCreated record, key form-encoded like S3 does.</summary>
    public static S3EventRecord Record(string key, long size = 100, string bucket = Bucket, string eventName = "ObjectCreated:Put", bool encode = true) => new()
    {
        EventVersion = "2.1",
        EventSource = "aws:s3",
        AwsRegion = "eu-west-1",
        EventTime = "2026-11-26T06:00:00.000Z",
        EventName = eventName,
        S3 = new S3Entity
        {
            SchemaVersion = "1.0",
            ConfigurationId = "incoming",
            Bucket = new S3BucketEntity { Name = bucket, Arn = "arn:aws:s3:::" + bucket },
            Object = new S3ObjectEntity { Key = encode ? S3KeyDecoder.Encode(key) : key, Size = size, ETag = "0123456789abcdef", Sequencer = "0055AED6DCD90281E5" },
        },
    };

    public static string NotificationJson(params S3EventRecord[] records) =>
        JsonSerializer.Serialize(new S3EventNotification { Records = records.ToList() }, LabelingJsonContext.Default.S3EventNotification);

    public static SqsEvent Sqs(params string[] bodies) => new()
    {
        Records = bodies.Select((b, i) => new SqsMessage
        {
            MessageId = $"msg-{i}",
            ReceiptHandle = "handle-" + i,
            Body = b,
            EventSource = "aws:sqs",
            EventSourceArn = "arn:aws:sqs:eu-west-1:123456789012:edgelabel-ingest",
            AwsRegion = "eu-west-1",
        }).ToList(),
    };
}
