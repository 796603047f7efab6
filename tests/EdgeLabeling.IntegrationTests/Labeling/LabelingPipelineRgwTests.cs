using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.IntegrationTests.Infrastructure;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Batching;
using EdgeLabeling.Labeling.Events;
using EdgeLabeling.Labeling.Pending;
using EdgeLabeling.Labeling.SageMaker;
using EdgeLabeling.Lambdas;
using EdgeLabeling.Simulation.LocalCloud;
using EdgeLabeling.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeLabeling.IntegrationTests.Labeling;

/// <summary>
/// The ingest and batch handlers against the real S3 server (radosgw): every object read and write goes
/// through AWSSDK.S3 to radosgw; events are the JSON AWS delivers (SQS envelopes around S3 notifications).
/// SageMaker is the dry-run client (validates and records the request), since no AWS account exists here.
/// The handler test runs once per pending-store backend: the SQLite file and a DynamoDB table on dynalite,
/// each chosen the way the deployed Lambdas choose it (TABLE_NAME and DYNAMODB_ENDPOINT, or neither).
/// </summary>
[Trait("Category", "Integration")]
public sealed class LabelingPipelineRgwTests : IAsyncLifetime
{
    private const string Thing = "site-3_cam:2";
    private static readonly DateTimeOffset Captured = new(2026, 11, 25, 14, 0, 0, TimeSpan.Zero);
    private readonly TempDir _dir = new("edgelabel-it-labeling-");
    private string _incoming = "";
    private string _data = "";
    private string? _table;

    public async Task InitializeAsync()
    {
        _incoming = await S3TestServer.CreateBucketAsync("it-incoming");
        _data = await S3TestServer.CreateBucketAsync("it-data");
    }

    public async Task DisposeAsync()
    {
        await S3TestServer.DeleteBucketAsync(_incoming);
        await S3TestServer.DeleteBucketAsync(_data);
        if (_table is not null)
        {
            await DynamoDbTestServer.DeleteTableAsync(_table);
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    /// <summary>Options as the handlers read them; a non-null <paramref name="table"/> selects the DynamoDB store.</summary>
    private LabelingOptions Options(int minItems = 3, string? table = null) => new()
    {
        TableName = table,
        DynamoDbEndpoint = table is null ? null : DynamoDbTestServer.Endpoint,
        Region = "eu-west-1",
        IncomingBucket = _incoming,
        DataBucket = _data,
        PendingDbPath = _dir.File("pending.db"),
        S3Endpoint = S3TestServer.Endpoint,
        WorkteamArn = "arn:aws:sagemaker:eu-west-1:123456789012:workteam/private-crowd/edge-team",
        GroundTruthRoleArn = "arn:aws:iam::123456789012:role/edgelabel-gt",
        KmsKeyId = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        Batching = new BatchingPolicy { MinItems = minItems },
    };

    private static (string ImageKey, ReviewRecord Review) Image(int n)
    {
        var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("rgw-image-" + n)));
        var key = ObjectKeyLayout.ImageKey(Thing, Captured, sha, "jpg");
        return (key, new ReviewRecord
        {
            ImageSha256 = sha,
            ImageKey = key,
            ThingName = Thing,
            CaptureTime = Captured,
            ImageSize = new ImageSizeDto { Width = 1280, Height = 720 },
            Outcome = "human-review",
            Reason = "uncertain",
            ClassNames = ["valve", "gauge"],
            PreAnnotations = [new PreAnnotation { ClassId = n % 2, Left = 100.5, Top = 50, Width = 200, Height = 120.25, Confidence = 0.42 }],
            Provenance = new Provenance { Source = "model", ModelSha256 = new string('b', 64), Device = Thing },
        });
    }

    private string SqsEvent(params (string Key, long Size)[] objects) => SqsEvent(_incoming, objects);

    /// <summary>The AWS payloads of these tests, from the local cloud's one event factory.</summary>
    internal static readonly AwsEventFactory Events = new("eu-west-1", "123456789012");

    /// <summary>An SQS event exactly as Lambda receives it: each body is an S3 notification with a form-encoded key.</summary>
    internal static string SqsEvent(string bucket, params (string Key, long Size)[] objects)
    {
        var put = DateTimeOffset.Parse("2026-11-25T14:00:01.123Z", CultureInfo.InvariantCulture);
        var created = objects.Select(o => new CreatedObject(bucket, o.Key, o.Size, "d41d8cd98f00b204e9800998ecf8427e", put)).ToList();
        return Events.SqsBatches(created, batchSize: Math.Max(1, created.Count)).Single().ToJsonString();
    }

    /// <summary>The batcher's schedule event at <paramref name="time"/> (ISO 8601, UTC).</summary>
    internal static string ScheduledEvent(string time) =>
        Events.ScheduledEvent(DateTimeOffset.Parse(time, CultureInfo.InvariantCulture)).ToJsonString();

    internal static async Task<T> Invoke<T>(Func<Stream, Task<Stream>> handler, string json, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        await using var output = await handler(new MemoryStream(Encoding.UTF8.GetBytes(json)));
        return JsonSerializer.Deserialize(output, type)!;
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("dynamodb")]
    public async Task Handlers_EventsForObjectsInRadosgw_RegisterPairsAndWriteJobInputsToRadosgw(string backend)
    {
        if (backend == "dynamodb")
        {
            _table = await DynamoDbTestServer.CreatePendingTableAsync("it-pipeline");
            // The composition root builds its DynamoDB client from the SDK's default credential chain, as on Lambda.
            DynamoDbTestServer.EnsureSdkCredentialsInEnvironment();
        }

        var objects = S3TestServer.CreateStore();
        var sageMaker = new DryRunSageMakerClient("eu-west-1");
        await using var services = new ServiceCollection()
            .AddSingleton<IObjectStore>(objects)
            .AddSingleton<ISageMakerClient>(sageMaker)
            .AddSingleton<ILabelingMetrics>(NullLabelingMetrics.Instance)
            .AddLabeling(Options(table: _table))
            .BuildServiceProvider();
        var store = services.GetRequiredService<IPendingStore>();
        Assert.IsType(backend == "dynamodb" ? typeof(DynamoDbPendingStore) : typeof(SqlitePendingStore), store);
        var ingest = new IngestFunction(services);
        var batch = new BatchFunction(services);

        var events = new List<(string, long)>();
        for (var n = 0; n < 3; n++)
        {
            var (key, review) = Image(n);
            var sidecar = review.ToUtf8Json();
            await objects.PutBytesAsync(_incoming, key, Encoding.UTF8.GetBytes("not really a jpeg " + n), "image/jpeg");
            await objects.PutBytesAsync(_incoming, ObjectKeyLayout.SidecarKey(key), sidecar, "application/json");
            events.Add((ObjectKeyLayout.SidecarKey(key), sidecar.Length));
            events.Add((key, 20));
        }

        // A sidecar whose image never arrives, and a broken sidecar: both named, neither blocks the batch.
        var (orphanKey, orphan) = Image(7);
        await objects.PutBytesAsync(_incoming, ObjectKeyLayout.SidecarKey(orphanKey), orphan.ToUtf8Json(), "application/json");
        var (brokenKey, _) = Image(8);
        await objects.PutBytesAsync(_incoming, ObjectKeyLayout.SidecarKey(brokenKey), "{\"schema-version\":1"u8.ToArray(), "application/json");
        events.Add((ObjectKeyLayout.SidecarKey(orphanKey), 500));
        events.Add((ObjectKeyLayout.SidecarKey(brokenKey), 19));

        var first = await Invoke(ingest.HandleAsync, SqsEvent([.. events]), LabelingJsonContext.Default.SqsBatchResponse);
        var redelivered = await Invoke(ingest.HandleAsync, SqsEvent([.. events]), LabelingJsonContext.Default.SqsBatchResponse);

        Assert.Empty(first.BatchItemFailures);
        Assert.Empty(redelivered.BatchItemFailures);
        Assert.Equal(3, (await store.GetPendingSummaryAsync()).Count);
        Assert.Equal(PendingStatus.Half, (await store.GetItemAsync(orphanKey))!.Status);
        Assert.Null(await store.GetItemAsync(brokenKey));

        var report = await Invoke(batch.HandleAsync, ScheduledEvent("2026-11-25T14:15:00Z"),
            LabelingJsonContext.Default.BatchRunReport);

        var job = Assert.Single(report.Jobs);
        Assert.Equal(3, job.Items);
        var inputs = await S3TestServer.ListAsync(_data, $"jobs/input/{job.JobName}/");
        Assert.Equal(
            [$"jobs/input/{job.JobName}/bounding-box.liquid.html", $"jobs/input/{job.JobName}/input.manifest", $"jobs/input/{job.JobName}/label-categories.json"],
            inputs.Keys.Order(StringComparer.Ordinal));

        var manifest = Encoding.UTF8.GetString((await objects.ReadBytesAsync(_data, $"jobs/input/{job.JobName}/input.manifest"))!);
        var lines = manifest.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => GroundTruthManifest.Parse(l, "parts-model")).ToList();
        Assert.Equal(Enumerable.Range(0, 3).Select(n => $"s3://{_incoming}/{Image(n).ImageKey}").Order(StringComparer.Ordinal), lines.Select(l => l.SourceRef));
        Assert.All(lines, l => Assert.Equal(new ImageSize(1280, 720, 3), l.Size));
        Assert.All(lines, l => Assert.Equal(100.5, Assert.Single(l.Boxes).Left));

        var categories = JsonDocument.Parse((await objects.ReadBytesAsync(_data, $"jobs/input/{job.JobName}/label-categories.json"))!);
        Assert.Equal(["valve", "gauge"], categories.RootElement.GetProperty("labels").EnumerateArray().Select(l => l.GetProperty("label").GetString()));

        var request = sageMaker.Created[job.JobName];
        Assert.Empty(CreateLabelingJobValidator.Validate(request));
        Assert.Equal($"s3://{_data}/jobs/input/{job.JobName}/input.manifest", request.InputConfig!.DataSource!.S3DataSource!.ManifestS3Uri);
        Assert.EndsWith("PRE-AdjustmentBoundingBox", request.HumanTaskConfig!.PreHumanTaskLambdaArn, StringComparison.Ordinal);
        Assert.Equal(BatchStatus.Created, (await store.GetBatchAsync(job.JobName))!.Status);
    }

    [Fact]
    public async Task BatchCommand_DryRunReadingSidecarsFromRadosgw_WritesExactRequestAndNothingRemote()
    {
        var objects = S3TestServer.CreateStore();
        for (var n = 10; n < 12; n++)
        {
            var (key, review) = Image(n);
            var sidecar = review.ToUtf8Json();
            await objects.PutBytesAsync(_incoming, key, "jpeg"u8.ToArray(), "image/jpeg");
            await objects.PutBytesAsync(_incoming, ObjectKeyLayout.SidecarKey(key), sidecar, "application/json");
        }

        var eventsFile = _dir.File("events.json");
        await File.WriteAllTextAsync(eventsFile, SqsEvent([.. Enumerable.Range(10, 2).SelectMany(n => new[] { (Image(n).ImageKey, 4L), (ObjectKeyLayout.SidecarKey(Image(n).ImageKey), 400L) })]));
        var configFile = _dir.File("config.json");
        await File.WriteAllTextAsync(configFile, new JsonObject
        {
            ["AWS_REGION"] = "us-west-2",
            ["INCOMING_BUCKET"] = _incoming,
            ["DATA_BUCKET"] = _data,
            ["WORKTEAM_ARN"] = "arn:aws:sagemaker:us-west-2:123456789012:workteam/private-crowd/edge-team",
            ["GT_ROLE_ARN"] = "arn:aws:iam::123456789012:role/edgelabel-gt",
            ["MONTHLY_BUDGET_USD"] = 25,
        }.ToJsonString());
        var output = _dir.File("out");

        var (exit, stdout, stderr) = await RunCliAsync("batch", "--events", eventsFile, "--config", configFile, "--dry-run", "--output", output, "--s3-endpoint", S3TestServer.Endpoint);

        Assert.True(exit == 0, $"exit {exit}\n{stdout}\n{stderr}");
        var requestFile = Assert.Single(Directory.GetFiles(output, "*.create-labeling-job.json"));
        var jobName = Path.GetFileName(requestFile)[..^".create-labeling-job.json".Length];
        var request = JsonSerializer.Deserialize(await File.ReadAllBytesAsync(requestFile), LabelingJsonContext.Default.CreateLabelingJobRequest)!;
        Assert.Empty(CreateLabelingJobValidator.Validate(request));
        Assert.Equal(jobName, request.LabelingJobName);
        Assert.Equal("arn:aws:lambda:us-west-2:081040173940:function:PRE-AdjustmentBoundingBox", request.HumanTaskConfig!.PreHumanTaskLambdaArn);
        Assert.Equal(2, File.ReadAllLines(Path.Combine(output, jobName + ".manifest")).Length);
        Assert.True(File.Exists(Path.Combine(output, jobName + ".label-categories.json")));
        Assert.Empty(await S3TestServer.ListAsync(_data));
    }

    /// <summary>Runs the built edgelabel CLI in its own process with the radosgw credentials in its environment.</summary>
    internal static async Task<(int Exit, string Stdout, string Stderr)> RunCliAsync(params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "edgelabel.dll");
        Assert.True(File.Exists(dll), $"edgelabel.dll not found next to the tests at {dll}");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["AWS_ACCESS_KEY_ID"] = S3TestServer.AccessKey;
        psi.Environment["AWS_SECRET_ACCESS_KEY"] = S3TestServer.SecretKey;
        psi.Environment["AWS_REGION"] = S3TestServer.Region;
        psi.Environment["NO_COLOR"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await p.WaitForExitAsync(timeout.Token);
        return (p.ExitCode, await stdout, await stderr);
    }
}
