using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.SageMaker;
using EdgeLabeling.Review.Api;
using EdgeLabeling.Review.BuiltIn;
using EdgeLabeling.Review.Tasks;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Benchmarks.Review;

/// <summary>
/// <c>review-leases [--tasks N] [--labelers N]</c>: N labelers (default 5) work through one built-in job of
/// 20,000 tasks in process, each leasing and submitting (two boxes) until none is open, through the review API
/// core over the SQLite task store. Baseline in the same run: the same loop on the bare store (no API, no
/// validation, no completion check). Prints throughput and per-call p50/p95.
/// </summary>
public static class ReviewLeaseBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var tasks = Arg(args, "--tasks", 20_000);
        var labelers = Arg(args, "--labelers", 5);
        var dir = Directory.CreateTempSubdirectory("review-bench-").FullName;
        try
        {
            var baseline = await RunOnceAsync(dir, "baseline", tasks, labelers, api: false);
            var api = await RunOnceAsync(dir, "api", tasks, labelers, api: true);
            Console.WriteLine($"review lease+submit, {tasks:N0} tasks, {labelers} concurrent labelers, SQLite task store, {Environment.ProcessorCount} cores");
            Console.WriteLine("| path | tasks/s | lease p50 ms | lease p95 ms | submit p50 ms | submit p95 ms |");
            Console.WriteLine("|---|---|---|---|---|---|");
            foreach (var r in new[] { baseline, api })
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {r.Name} | {r.PerSecond:0} | {r.LeaseP50:0.00} | {r.LeaseP95:0.00} | {r.SubmitP50:0.00} | {r.SubmitP95:0.00} |"));
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"API throughput vs bare store: {api.PerSecond / baseline.PerSecond:0.00}x"));
            return 0;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }

    private sealed record Result(string Name, double PerSecond, double LeaseP50, double LeaseP95, double SubmitP50, double SubmitP95);

    private static async Task<Result> RunOnceAsync(string dir, string name, int count, int labelers, bool api)
    {
        var objects = new FileSystemObjectStore(Path.Combine(dir, name, "store"));
        var classes = new[] { "bolt", "nut", "washer" };
        var manifest = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            manifest.Append(GroundTruthManifest.BuildLine($"s3://incoming/incoming/cam/{i:x64}.jpg", "parts-model", new ImageSize(640, 480),
                [new PixelBox(0, 10, 20, 30, 40, 0.4)], classes, false, "labeling-job/edge-auto-cam", DateTimeOffset.UnixEpoch).ToJsonString()).Append('\n');
        }

        await objects.PutBytesAsync("data", "jobs/input/bench/input.manifest", Encoding.UTF8.GetBytes(manifest.ToString()), "application/jsonlines");
        await objects.PutBytesAsync("data", "jobs/input/bench/cats.json", JsonSerializer.SerializeToUtf8Bytes(LabelCategoryConfig.FromClassNames(classes), ContractsJsonContext.Default.LabelCategoryConfig), "application/json");
        var backend = new BuiltInLabelingService(new SqliteReviewTaskStore(Path.Combine(dir, name, "review.db")), objects, new CallbackJobStateChangePublisher((_, _) => Task.CompletedTask), new ReviewOptions());
        await backend.CreateLabelingJobAsync(Request());
        var core = new ReviewApi(backend, new HmacImageUrlSigner(new byte[32]));
        var leaseMs = new List<double>[labelers];
        var submitMs = new List<double>[labelers];
        var total = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, labelers).Select(w => Task.Run(async () =>
        {
            leaseMs[w] = [];
            submitMs[w] = [];
            var caller = new ReviewCaller("labeler-" + w, "bench", "labeler-" + w, ["labelers"]);
            var auth = AuthResult.Ok(caller);
            var sw = new Stopwatch();
            while (true)
            {
                sw.Restart();
                int index;
                string leaseId;
                if (api)
                {
                    var r = await core.HandleAsync(new ApiRequest("POST", "/api/jobs/bench/lease", auth, default));
                    leaseMs[w].Add(sw.Elapsed.TotalMilliseconds);
                    if (r.Status != 200)
                    {
                        break;
                    }

                    (index, leaseId) = (r.Body!["index"]!.GetValue<int>(), r.Body["leaseId"]!.GetValue<string>());
                    var body = new JsonObject
                    {
                        ["leaseId"] = leaseId,
                        ["boxes"] = new JsonArray(
                            new JsonObject { ["label"] = "bolt", ["left"] = 11.5, ["top"] = 20, ["width"] = 30, ["height"] = 40 },
                            new JsonObject { ["label"] = "washer", ["left"] = 100, ["top"] = 120, ["width"] = 50, ["height"] = 25 }),
                    };
                    sw.Restart();
                    var s = await core.HandleAsync(new ApiRequest("POST", $"/api/jobs/bench/tasks/{index}/submit", auth, Encoding.UTF8.GetBytes(body.ToJsonString())));
                    submitMs[w].Add(sw.Elapsed.TotalMilliseconds);
                    if (s.Status != 200)
                    {
                        throw new InvalidOperationException($"submit refused: {s.Body}");
                    }
                }
                else
                {
                    var now = DateTimeOffset.UtcNow;
                    var t = await backend.Store.LeaseNextAsync("bench", caller.Owner, now, now.AddMinutes(5));
                    leaseMs[w].Add(sw.Elapsed.TotalMilliseconds);
                    if (t is null)
                    {
                        break;
                    }

                    sw.Restart();
                    var s = await backend.Store.SubmitAsync("bench", t.Index, caller.Owner, t.LeaseId!, DateTimeOffset.UtcNow, """{"boxes":[{"label":"bolt","left":11.5,"top":20,"width":30,"height":40}]}""");
                    submitMs[w].Add(sw.Elapsed.TotalMilliseconds);
                    if (s.Outcome != TaskChange.Ok)
                    {
                        throw new InvalidOperationException($"submit refused: {s.Outcome}");
                    }
                }
            }
        })));
        var seconds = total.Elapsed.TotalSeconds;
        var progress = await backend.Store.GetProgressAsync("bench", DateTimeOffset.UtcNow);
        if (progress.Submitted != count)
        {
            throw new InvalidOperationException($"{name}: {progress.Submitted} of {count} tasks submitted");
        }

        var leases = leaseMs.SelectMany(l => l).Order().ToArray();
        var submits = submitMs.SelectMany(l => l).Order().ToArray();
        return new Result(name, count / seconds, Pct(leases, 0.5), Pct(leases, 0.95), Pct(submits, 0.5), Pct(submits, 0.95));
    }

    private static double Pct(double[] sorted, double p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];

    private static int Arg(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static CreateLabelingJobRequest Request() => new()
    {
        LabelingJobName = "bench",
        LabelAttributeName = "parts-human",
        InputConfig = new() { DataSource = new() { S3DataSource = new() { ManifestS3Uri = "s3://data/jobs/input/bench/input.manifest" } } },
        OutputConfig = new() { S3OutputPath = "s3://data/jobs/output/" },
        RoleArn = "arn:aws:iam::123456789012:role/GroundTruthRole",
        LabelCategoryConfigS3Uri = "s3://data/jobs/input/bench/cats.json",
        HumanTaskConfig = new()
        {
            WorkteamArn = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/team",
            UiConfig = new() { UiTemplateS3Uri = "s3://data/jobs/input/bench/t.html" },
            PreHumanTaskLambdaArn = "arn:aws:lambda:us-east-1:432418664414:function:PRE-AdjustmentBoundingBox",
            TaskTitle = "t",
            TaskDescription = "d",
            NumberOfHumanWorkersPerDataObject = 1,
            TaskTimeLimitInSeconds = 600,
            TaskAvailabilityLifetimeInSeconds = 86_400,
            AnnotationConsolidationConfig = new() { AnnotationConsolidationLambdaArn = "arn:aws:lambda:us-east-1:432418664414:function:ACS-AdjustmentBoundingBox" },
        },
    };
}
