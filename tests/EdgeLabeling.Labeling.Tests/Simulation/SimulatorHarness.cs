using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Tests.Merge;
using EdgeLabeling.Simulation;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Labeling.Tests.Simulation;

/// <summary>A running simulator over a local object store, with a raw signed-request client.</summary>
internal sealed class SimulatorHarness : IAsyncDisposable
{
    public const string AccessKey = "AKIASIMULATION00001";
    public const string Secret = "simulation-secret-key-000000000000000001";
    public const string Bucket = "data-bucket";
    public const string InputBucket = "incoming-bucket";

    private readonly TempDir _dir = new();
    private readonly HttpClient _http = new();

    private SimulatorHarness(WorkforceOptions workforce, IGroundTruthOracle? oracle, Func<GroundTruthSimulatorOptions, GroundTruthSimulatorOptions>? configure)
    {
        Store = new FileSystemObjectStore(Path.Combine(_dir.Path, "store"));
        Oracle = oracle ?? new DictionaryOracle(Truth);
        var options = new GroundTruthSimulatorOptions
            {
                AccessKeyId = AccessKey,
                SecretAccessKey = Secret,
                WorkDirectory = Path.Combine(_dir.Path, "work"),
                OnJobStateChange = (json, _) =>
                {
                    Events.Enqueue(json);
                    EventArrived.TrySetResult(json);
                    return Task.CompletedTask;
                },
            };
        Simulator = new GroundTruthSimulator(configure is null ? options : configure(options), new SimulatedWorkforce(Store, Oracle, workforce));
    }

    public FileSystemObjectStore Store { get; }
    public IGroundTruthOracle Oracle { get; }
    public GroundTruthSimulator Simulator { get; }
    public ConcurrentQueue<string> Events { get; } = new();

    /// <summary>Completes with the first state-change event.</summary>
    public TaskCompletionSource<string> EventArrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public Dictionary<string, IReadOnlyList<PixelBox>> Truth { get; } = [];
    public string Root => _dir.Path;

    public static async Task<SimulatorHarness> StartAsync(WorkforceOptions? workforce = null, IGroundTruthOracle? oracle = null, Func<GroundTruthSimulatorOptions, GroundTruthSimulatorOptions>? configure = null)
    {
        var h = new SimulatorHarness(workforce ?? new WorkforceOptions { BoxJitterPixels = 0 }, oracle, configure);
        await h.Simulator.StartAsync();
        return h;
    }

    public static string Sha(int i) => OutputFixtures.Sha(i);

    public static string SourceRef(int i) => OutputFixtures.SourceRef(i);

    /// <summary>Writes an input manifest with a model prior per image and the label category file; records the truth.</summary>
    public async Task<string> GivenInputAsync(string job, int count, bool withPrior = true)
    {
        var lines = new List<string>();
        for (var i = 1; i <= count; i++)
        {
            var truth = new List<PixelBox> { new(0, 10 + i, 20, 30, 40, 1), new(2, 100, 120, 50, 25, 1) };
            Truth[Sha(i)] = truth;
            var line = withPrior
                ? GroundTruthManifest.BuildLine(SourceRef(i), "parts-model", new ImageSize(640, 480), [truth[0] with { Confidence = 0.4 }], ["bolt", "nut", "washer"], false, "labeling-job/edge-auto-site-a-cam1", DateTimeOffset.UnixEpoch)
                : new JsonObject { ["source-ref"] = SourceRef(i) };
            line["provenance"] = new JsonObject { ["source"] = "model", ["model-sha256"] = "feedface" };
            line["edge-reason"] = i % 2 == 0 ? "audit" : "uncertain-box";
            lines.Add(line.ToJsonString());

            if (!withPrior)
            {
                // Without a prior the size comes from the edge's sidecar next to the image.
                var loc = S3Location.Parse(SourceRef(i));
                var sidecar = new ReviewRecord
                {
                    ImageSha256 = Sha(i),
                    ImageKey = loc.Key,
                    ThingName = "site-a-cam1",
                    CaptureTime = DateTimeOffset.UnixEpoch,
                    ImageSize = new ImageSizeDto { Width = 640, Height = 480 },
                    Outcome = "human-review",
                    Reason = "no-detections",
                    ClassNames = ["bolt", "nut", "washer"],
                    PreAnnotations = [],
                    Provenance = new Provenance { Source = "model" },
                };
                await Store.PutBytesAsync(loc.Bucket, ObjectKeyLayout.SidecarKey(loc.Key), sidecar.ToUtf8Json(), "application/json");
            }
        }

        await Store.PutBytesAsync(Bucket, $"jobs/input/{job}/input.manifest", Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n"), "application/jsonlines");
        await Store.PutBytesAsync(Bucket, $"jobs/input/{job}/label-categories.json", JsonSerializer.SerializeToUtf8Bytes(LabelCategoryConfig.FromClassNames(["bolt", "nut", "washer"]), ContractsJsonContext.Default.LabelCategoryConfig), "application/json");
        return $"s3://{Bucket}/jobs/input/{job}/input.manifest";
    }

    /// <summary>A CreateLabelingJob body that passes every rule (adjustment task in us-east-1).</summary>
    public static JsonObject ValidRequest(string job, bool adjustment = true)
    {
        var type = adjustment ? "AdjustmentBoundingBox" : "BoundingBox";
        return new JsonObject
        {
            ["LabelingJobName"] = job,
            ["LabelAttributeName"] = "parts-human",
            ["InputConfig"] = new JsonObject
            {
                ["DataSource"] = new JsonObject { ["S3DataSource"] = new JsonObject { ["ManifestS3Uri"] = $"s3://{Bucket}/jobs/input/{job}/input.manifest" } },
                ["DataAttributes"] = new JsonObject { ["ContentClassifiers"] = new JsonArray("FreeOfPersonallyIdentifiableInformation") },
            },
            ["OutputConfig"] = new JsonObject { ["S3OutputPath"] = $"s3://{Bucket}/jobs/output/" },
            ["RoleArn"] = "arn:aws:iam::123456789012:role/GroundTruthRole",
            ["LabelCategoryConfigS3Uri"] = $"s3://{Bucket}/jobs/input/{job}/label-categories.json",
            ["HumanTaskConfig"] = new JsonObject
            {
                ["WorkteamArn"] = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/parts-team",
                ["UiConfig"] = new JsonObject { ["UiTemplateS3Uri"] = $"s3://{Bucket}/jobs/input/{job}/bounding-box.liquid.html" },
                ["PreHumanTaskLambdaArn"] = $"arn:aws:lambda:us-east-1:432418664414:function:PRE-{type}",
                ["TaskKeywords"] = new JsonArray("bounding box", "parts"),
                ["TaskTitle"] = "Adjust boxes around parts",
                ["TaskDescription"] = "Fix the model's boxes around bolts, nuts and washers.",
                ["NumberOfHumanWorkersPerDataObject"] = 1,
                ["TaskTimeLimitInSeconds"] = 600,
                ["TaskAvailabilityLifetimeInSeconds"] = 259200,
                ["MaxConcurrentTaskCount"] = 100,
                ["AnnotationConsolidationConfig"] = new JsonObject { ["AnnotationConsolidationLambdaArn"] = $"arn:aws:lambda:us-east-1:432418664414:function:ACS-{type}" },
            },
            ["Tags"] = new JsonArray(new JsonObject { ["Key"] = "project", ["Value"] = "edgelabeling" }),
        };
    }

    /// <summary>Sends one awsJson request, signed unless told otherwise.</summary>
    public async Task<(int Status, JsonObject Body)> SendAsync(
        string? target,
        string body,
        string secret = Secret,
        string contentType = GroundTruthSimulator.ContentType,
        bool sign = true,
        string? tamperedBody = null,
        DateTimeOffset? signedAt = null,
        string accessKey = AccessKey)
    {
        var amzDate = (signedAt ?? DateTimeOffset.UtcNow).UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var host = $"{Simulator.Endpoint.Host}:{Simulator.Endpoint.Port}";
        var headers = new Dictionary<string, string>(StringComparer.Ordinal) { ["content-type"] = contentType, ["host"] = host, ["x-amz-date"] = amzDate };
        if (target is not null)
        {
            headers["x-amz-target"] = target;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, Simulator.Endpoint);
        var sent = Encoding.UTF8.GetBytes(tamperedBody ?? body);
        request.Content = new ByteArrayContent(sent);
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TryAddWithoutValidation("X-Amz-Date", amzDate);
        if (target is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Amz-Target", target);
        }

        if (sign)
        {
            var signedHeaders = headers.Keys.Order(StringComparer.Ordinal).ToList();
            var auth = SigV4Verifier.Sign(new SignedRequest("POST", "/", [], headers, Encoding.UTF8.GetBytes(body)), signedHeaders, accessKey, secret, "us-east-1", "sagemaker", amzDate);
            request.Headers.TryAddWithoutValidation("Authorization", auth);
        }

        using var response = await _http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return ((int)response.StatusCode, text.Length == 0 ? [] : (JsonNode.Parse(text) as JsonObject ?? []));
    }

    public Task<(int Status, JsonObject Body)> CallAsync(string operation, JsonObject body) =>
        SendAsync("SageMaker." + operation, body.ToJsonString());

    public async ValueTask DisposeAsync()
    {
        await Simulator.DisposeAsync();
        _http.Dispose();
        _dir.Dispose();
    }
}
