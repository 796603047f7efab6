using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Batching;
using EdgeLabeling.Labeling.Events;
using EdgeLabeling.Labeling.Ingest;
using EdgeLabeling.Labeling.Jobs;
using EdgeLabeling.Labeling.Pending;
using EdgeLabeling.Storage;
using Microsoft.Data.Sqlite;

namespace EdgeLabeling.Benchmarks.CloudBatching;

/// <summary>
/// 20,000 S3 events (10,000 images + their 10,000 sidecars, delivered as SQS batches of 10 messages,
/// sidecars read from a local object store) → pending items in the SQLite store → one planner run making
/// the jobs (manifests, category files and validated requests; SageMaker is the dry-run client).
/// The baseline is the floor any transactional store pays: 20,000 single-row SQLite transactions on the
/// same kind of file, without decoding, parsing or pairing.
/// Peak memory: each iteration resets the process's resident-set high-water mark (Linux
/// /proc/self/clear_refs) and reads VmHWM afterwards; the largest value per benchmark is printed as
/// "// peak RSS". In-process so that a run (setup included) stays well under a minute on 2 cores.
/// Run: dotnet run -c Release --project benchmarks/EdgeLabeling.Benchmarks -- --filter '*CloudBatching*'
/// </summary>
[Config(typeof(Config))]
[MemoryDiagnoser]
public class CloudBatchingBenchmarks
{
    private sealed class Config : ManualConfig
    {
        public Config() => AddJob(Job.Dry
            .WithToolchain(InProcessEmitToolchain.Instance)
            .WithStrategy(RunStrategy.Monitoring)
            .WithWarmupCount(0)
            .WithIterationCount(3)
            .WithId("in-process"));
    }

    private readonly Dictionary<string, long> _peakKib = new(StringComparer.Ordinal);
    private string _current = "";

    public const int Images = 10_000;
    private const string Incoming = "bench-incoming";
    private const string Thing = "bench-site";
    private static readonly DateTimeOffset Day = new(2026, 11, 26, 0, 0, 0, TimeSpan.Zero);
    private string _root = "";
    private FileSystemObjectStore _objects = null!;
    private List<SqsEvent> _batches = [];
    private string _db = "";
    private int _iteration;

    [GlobalSetup]
    public void Setup()
    {
        _root = Directory.CreateTempSubdirectory("edgelabel-bench-batching-").FullName;
        _objects = new FileSystemObjectStore(Path.Combine(_root, "s3"));
        var messages = new List<SqsMessage>(2 * Images);
        for (var n = 0; n < Images; n++)
        {
            var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("bench-" + n)));
            var key = ObjectKeyLayout.ImageKey(Thing, Day, sha, "jpg");
            var review = new ReviewRecord
            {
                ImageSha256 = sha,
                ImageKey = key,
                ThingName = Thing,
                CaptureTime = Day,
                ImageSize = new ImageSizeDto { Width = 1920, Height = 1080, Depth = 3 },
                Outcome = "human-review",
                Reason = "uncertain",
                ClassNames = ["valve", "gauge", "pipe"],
                PreAnnotations = Enumerable.Range(0, 3).Select(i => new PreAnnotation { ClassId = i, Left = 10 * i, Top = 20, Width = 100, Height = 80, Confidence = 0.4 }).ToList(),
                Provenance = new Provenance { Source = "model", ModelSha256 = new string('c', 64), Device = Thing },
            };
            var sidecar = review.ToUtf8Json();
            // Plain writes: the store's fsync-per-object durability is not what is measured and would dominate setup.
            var path = _objects.PathOf(Incoming, ObjectKeyLayout.SidecarKey(key));
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, sidecar);
            messages.Add(Message(messages.Count, key, 250_000));
            messages.Add(Message(messages.Count, ObjectKeyLayout.SidecarKey(key), sidecar.Length));
        }

        // Interleave so that roughly half the pairs arrive sidecar-first, like unordered S3 delivery.
        var rng = new Random(42);
        var shuffled = messages.OrderBy(_ => rng.Next()).ToList();
        _batches = shuffled.Chunk(10).Select(c => new SqsEvent { Records = [.. c] }).ToList();
    }

    private static SqsMessage Message(int i, string key, long size)
    {
        var body = JsonSerializer.Serialize(new S3EventNotification
        {
            Records =
            [
                new S3EventRecord
                {
                    EventVersion = "2.1", EventSource = "aws:s3", AwsRegion = "eu-west-1", EventTime = "2026-11-26T00:00:00.000Z", EventName = "ObjectCreated:Put",
                    S3 = new S3Entity { SchemaVersion = "1.0", Bucket = new S3BucketEntity { Name = Incoming }, Object = new S3ObjectEntity { Key = S3KeyDecoder.Encode(key), Size = size, Sequencer = "0055AED6DCD90281E5" } },
                },
            ],
        }, LabelingJsonContext.Default.S3EventNotification);
        return new SqsMessage { MessageId = "m" + i.ToString(CultureInfo.InvariantCulture), Body = body, EventSource = "aws:sqs" };
    }

    [IterationSetup(Target = nameof(SqliteTransactionsFloor))]
    public void SetupFloor() => NewIteration(nameof(SqliteTransactionsFloor));

    [IterationSetup(Target = nameof(EventsToJobs))]
    public void SetupPipeline() => NewIteration(nameof(EventsToJobs));

    private void NewIteration(string benchmark)
    {
        _db = Path.Combine(_root, $"pending-{_iteration++}.db");
        _current = benchmark;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        if (OperatingSystem.IsLinux())
        {
            // "5" resets the peak resident set size (VmHWM) to the current size.
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
    }

    [IterationCleanup]
    public void RecordPeak()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        var kib = long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        _peakKib[_current] = Math.Max(_peakKib.GetValueOrDefault(_current), kib);
    }

    [Benchmark(Baseline = true, Description = "20k single-row SQLite transactions (floor)")]
    public int SqliteTransactionsFloor()
    {
        using var c = new SqliteConnection($"Data Source={_db}");
        c.Open();
        using (var init = c.CreateCommand())
        {
            init.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; CREATE TABLE t(k TEXT PRIMARY KEY, v TEXT)";
            init.ExecuteNonQuery();
        }

        for (var i = 0; i < 2 * Images; i++)
        {
            using var tx = c.BeginTransaction(deferred: false);
            using var cmd = c.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "INSERT INTO t(k, v) VALUES($k, $v)";
            cmd.Parameters.AddWithValue("$k", "k" + i.ToString(CultureInfo.InvariantCulture));
            cmd.Parameters.AddWithValue("$v", "v");
            cmd.ExecuteNonQuery();
            tx.Commit();
        }

        return 2 * Images;
    }

    [Benchmark(Description = "20k S3 events -> pending -> jobs")]
    public async Task<int> EventsToJobs()
    {
        var options = new LabelingOptions
        {
            Region = "eu-west-1",
            IncomingBucket = Incoming,
            DataBucket = "bench-data",
            WorkteamArn = "arn:aws:sagemaker:eu-west-1:123456789012:workteam/private-crowd/bench",
            GroundTruthRoleArn = "arn:aws:iam::123456789012:role/bench-gt",
            Budget = new BudgetPolicy { MonthlyBudgetUsd = 10_000m },
        };
        var store = new SqlitePendingStore(_db);
        var objects = new DryRunObjectStore(_objects);
        var ingest = new IngestProcessor(objects, store, options, NullLabelingMetrics.Instance);
        foreach (var batch in _batches)
        {
            var report = await ingest.ProcessAsync(batch);
            if (report.Response.BatchItemFailures.Count > 0)
            {
                throw new InvalidOperationException("benchmark ingest reported failures: " + report.Outcomes.First(o => o.Retry).Detail);
            }
        }

        var planner = new BatchPlanner(store, objects, new DryRunSageMakerClient(options.Region), new LabelingJobFactory(options), new CostForecaster(options.Budget), options, NullLabelingMetrics.Instance);
        var run = await planner.PlanAsync(flush: true);
        var planned = run.Jobs.Sum(j => j.Items);
        if (planned != Images)
        {
            throw new InvalidOperationException($"expected {Images} items in jobs, got {planned} ({run.Decision} {run.Error})");
        }

        return planned;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var (benchmark, kib) in _peakKib)
        {
            Console.WriteLine($"// peak RSS {benchmark}: {kib / 1024.0:F1} MiB");
        }

        SqliteConnection.ClearAllPools();
        Directory.Delete(_root, recursive: true);
    }
}
