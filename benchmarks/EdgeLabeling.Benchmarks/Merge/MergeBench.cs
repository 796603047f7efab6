using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Storage;
using Spectre.Console;

namespace EdgeLabeling.Benchmarks.Merge;

/// <summary>
/// <c>merge [--lines 1000000] [--dataset-images 1000000 --job-lines 1000]</c>: writes a synthetic job output
/// manifest and auto-label batch of --lines lines, then times (1) a plain line read of the output as the baseline,
/// (2) the merge of that job into an empty dataset (shard + settling items + index) and (3) the on-demand export
/// (join + COCO). With --dataset-images it then merges a dataset of that many images as jobs of --job-lines lines
/// and times (4) the merge of one more job into it next to (5) the merge of the same job into an empty dataset
/// (median of --repeat runs each). Prints lines/s (wall clock), CPU seconds (steadier on a shared machine) and the
/// peak working set of each stage (VmHWM reset between stages where Linux allows it).
/// Exit codes: 0 done, 1 the merge or export produced unexpected counts, 2 bad arguments.
/// </summary>
public static class MergeBench
{
    private const string Bucket = "bench-data";
    private const string Job = "bench-job-1";
    private static readonly DateTimeOffset When = new(2026, 11, 26, 8, 0, 0, TimeSpan.Zero);

    /// <summary>What to measure; the defaults are the documented million-line run.</summary>
    public sealed record Settings
    {
        public int Lines { get; init; } = 1_000_000;
        public double Overlap { get; init; } = 0.05;
        public int DatasetImages { get; init; }
        public int JobLines { get; init; } = 1_000;
        public int Repeat { get; init; } = 5;

        /// <summary>Scratch folder kept afterwards; null: a new temp folder, deleted afterwards.</summary>
        public string? WorkDirectory { get; init; }

        public bool IsValid => Lines >= 1 && Overlap is >= 0 and <= 1 && DatasetImages >= 0 && JobLines >= 1 && Repeat >= 1;
    }

    public sealed record Stage(string Name, long Lines, TimeSpan Elapsed, TimeSpan Cpu, long PeakWorkingSetBytes, long AllocatedBytes)
    {
        public double LinesPerSecond => Lines / Math.Max(Elapsed.TotalSeconds, 1e-9);
    }

    /// <summary>The stages in order (baseline first), the counts the merge and the export gave, and the input sizes.</summary>
    public sealed record Result(IReadOnlyList<Stage> Stages, long MergedLines, DatasetBuildReport Dataset, long OutputBytes, long AutoLabelBytes);

    /// <summary>Parses the command line and runs the bench (see the class summary).</summary>
    public static Task<int> RunAsync(string[] args)
    {
        var lines = new Option<int>("--lines", "-n") { Description = "Lines in the job output manifest (and in the auto-label batch).", DefaultValueFactory = _ => 1_000_000 };
        var overlap = new Option<double>("--overlap") { Description = "Share of auto-labeled images also labeled by people (audits).", DefaultValueFactory = _ => 0.05 };
        var datasetImages = new Option<int>("--dataset-images") { Description = "Also measure one more job merged into a dataset of this many human-labeled images (0: skip).", DefaultValueFactory = _ => 0 };
        var jobLines = new Option<int>("--job-lines") { Description = "Lines per job for --dataset-images (the dataset is built from jobs of this size).", DefaultValueFactory = _ => 1_000 };
        var repeat = new Option<int>("--repeat") { Description = "Runs of each --dataset-images stage; the median is shown.", DefaultValueFactory = _ => 5 };
        var work = new Option<DirectoryInfo?>("--work") { Description = "Scratch folder (default: a new temp folder, deleted afterwards)." };
        var json = new Option<bool>("--json") { Description = "Print the results as JSON." };
        var command = new RootCommand("Measure merge throughput and peak memory on a synthetic million-line manifest.") { lines, overlap, datasetImages, jobLines, repeat, work, json };
        command.SetAction((p, ct) => RunAsync(
            new Settings { Lines = p.GetValue(lines), Overlap = p.GetValue(overlap), DatasetImages = p.GetValue(datasetImages), JobLines = p.GetValue(jobLines), Repeat = p.GetValue(repeat), WorkDirectory = p.GetValue(work)?.FullName },
            p.GetValue(json), ct));
        var parsed = command.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            return Task.FromResult(Fail(string.Join("; ", parsed.Errors.Select(e => e.Message)) + " (see --help)", 2));
        }

        return parsed.InvokeAsync();
    }

    private static int Fail(string message, int exitCode)
    {
        Console.Error.WriteLine($"merge bench: error: {message}");
        return exitCode;
    }

    private static async Task<int> RunAsync(Settings settings, bool json, CancellationToken ct)
    {
        if (!settings.IsValid)
        {
            return Fail("--lines, --job-lines and --repeat must be >= 1, --dataset-images >= 0 and --overlap between 0 and 1", 2);
        }

        Result result;
        try
        {
            result = await MeasureAsync(settings, ct);
        }
        catch (UnexpectedCountsException ex)
        {
            return Fail(ex.Message, 1);
        }

        if (json)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(result.Stages.Select(s => new Dictionary<string, object>
            {
                ["stage"] = s.Name,
                ["lines"] = s.Lines,
                ["seconds"] = Math.Round(s.Elapsed.TotalSeconds, 3),
                ["cpuSeconds"] = Math.Round(s.Cpu.TotalSeconds, 3),
                ["linesPerSecond"] = Math.Round(s.LinesPerSecond),
                ["peakWorkingSetMiB"] = s.PeakWorkingSetBytes / (1024 * 1024),
            }).ToList(), BenchJsonContext.Default.ListDictionaryStringObject));
            return 0;
        }

        var (lines, overlap, dataset) = (settings.Lines, settings.Overlap, result.Dataset);
        var table = new Table().Title($"merge bench: {lines:N0}-line job output ({result.OutputBytes / (1024 * 1024):N0} MiB) + {lines:N0}-line auto-labels ({result.AutoLabelBytes / (1024 * 1024):N0} MiB), {overlap:P0} overlap")
            .AddColumns("stage", "lines", "wall s", "CPU s", "lines/s", "vs baseline", "peak working set", "allocated");
        var baseline = result.Stages[0].LinesPerSecond;
        foreach (var s in result.Stages)
        {
            table.AddRow(Markup.Escape(s.Name), s.Lines.ToString("N0", CultureInfo.InvariantCulture), s.Elapsed.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture), s.Cpu.TotalSeconds.ToString("F2", CultureInfo.InvariantCulture),
                s.LinesPerSecond.ToString("N0", CultureInfo.InvariantCulture), (s.LinesPerSecond / baseline).ToString("P1", CultureInfo.InvariantCulture),
                $"{s.PeakWorkingSetBytes / (1024 * 1024):N0} MiB", $"{s.AllocatedBytes / (1024 * 1024):N0} MiB");
        }

        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"dataset: {dataset.TotalImages:N0} images ({dataset.HumanImages:N0} human, {dataset.ModelImages:N0} model), COCO {dataset.CocoAnnotations:N0} boxes");
        using (var self = Process.GetCurrentProcess())
        {
            AnsiConsole.MarkupLine($"whole run (input generation and every stage): {self.TotalProcessorTime.TotalSeconds:F2} s CPU, peak working set {Math.Max(_runPeak, self.PeakWorkingSet64) / (1024 * 1024):N0} MiB");
        }

        return 0;
    }

    /// <summary>
    /// Runs every stage of <paramref name="settings"/> (which must be <see cref="Settings.IsValid"/>). Throws
    /// <see cref="UnexpectedCountsException"/> when the merge or the export loses or invents images, before the
    /// --dataset-images stages: a wrong result's timing means nothing.
    /// </summary>
    public static async Task<Result> MeasureAsync(Settings settings, CancellationToken ct)
    {
        var (lines, overlap) = (settings.Lines, settings.Overlap);
        var root = settings.WorkDirectory ?? Path.Combine(Path.GetTempPath(), "edgelabel-merge-bench-" + Guid.NewGuid().ToString("N"));
        try
        {
            var store = new FileSystemObjectStore(Path.Combine(root, "store"));
            var outputPath = store.PathOf(Bucket, LabelingConventions.JobOutputManifestKey(Job));
            var autoPath = store.PathOf(Bucket, LabelingConventions.AutoLabelBatchKey("bench-device", new DateTimeOffset(2026, 11, 26, 0, 0, 0, TimeSpan.Zero), new string('b', 64)));
            var fileBytes = await WriteInputsAsync(outputPath, autoPath, lines, overlap, ct);

            var stages = new List<Stage>
            {
                await MeasureAsync("baseline: read lines", lines, async () =>
                {
                    using var reader = new StreamReader(outputPath, Encoding.UTF8, false, 1 << 16);
                    while (await reader.ReadLineAsync(ct) is not null)
                    {
                    }
                }),
            };

            var ledger = new SyntheticLedger();
            ledger.Jobs[Job] = (0, lines);
            var options = new MergeOptions { DataBucket = Bucket, WorkDirectory = Path.Combine(root, "work") };
            var merger = new DatasetMerger(store, ledger, options, new DatasetBuilder(), outputs: ledger);
            MergeResult? merged = null;
            stages.Add(await MeasureAsync("merge job output into empty dataset (shard + settle + index)", lines, async () => merged = await merger.MergeAsync(Completed(Job), ct)));
            // The export reads shards and auto labels only; the job output goes so the run needs less scratch disk.
            File.Delete(outputPath);
            DatasetExportResult? built = null;
            stages.Add(await MeasureAsync("export on demand (join + COCO)", 2L * lines, async () =>
                built = await merger.ExportDatasetAsync(new DatasetExportRequest { Directory = Path.Combine(root, "export") }, ct)));

            if (merged!.Labeled != lines || built!.Report.TotalImages != 2L * lines - (long)(lines * overlap))
            {
                throw new UnexpectedCountsException($"unexpected counts: merged {merged.Labeled}, dataset {built!.Report.TotalImages}");
            }

            File.Delete(built.ManifestPath);
            File.Delete(built.CocoPath!);
            if (settings.DatasetImages > 0)
            {
                stages.AddRange(await IncrementalStagesAsync(root, settings.DatasetImages, settings.JobLines, settings.Repeat, ct));
            }

            return new Result(stages, merged.Labeled, built.Report, fileBytes.Output, fileBytes.Auto);
        }
        finally
        {
            if (settings.WorkDirectory is null)
            {
                try
                {
                    Directory.Delete(root, recursive: true);
                }
                catch (IOException)
                {
                    // Leftover scratch files in the temp folder are harmless.
                }
            }
        }
    }

    /// <summary>The merge or the export did not account for every image; the message gives both counts.</summary>
    public sealed class UnexpectedCountsException(string message) : Exception(message);

    /// <summary>
    /// Builds a dataset of <paramref name="datasetImages"/> images by merging jobs of <paramref name="jobLines"/> lines,
    /// then times one more job merged into it against the same job merged into an empty dataset.
    /// </summary>
    private static async Task<List<Stage>> IncrementalStagesAsync(string root, int datasetImages, int jobLines, int repeat, CancellationToken ct)
    {
        var big = new FileSystemObjectStore(Path.Combine(root, "big"));
        var ledger = new SyntheticLedger();
        var options = new MergeOptions { DataBucket = Bucket, WorkDirectory = Path.Combine(root, "work-big") };
        var merger = new DatasetMerger(big, ledger, options, new DatasetBuilder(), outputs: ledger);
        var jobs = (datasetImages + jobLines - 1) / jobLines;
        var setup = Stopwatch.StartNew();
        for (var j = 0; j < jobs; j++)
        {
            var name = JobName(j);
            ledger.Jobs[name] = (j * jobLines, jobLines);
            await WriteJobOutputAsync(big, name, j * jobLines, jobLines, ct);
            await merger.MergeAsync(Completed(name), ct);
            File.Delete(big.PathOf(Bucket, LabelingConventions.JobOutputManifestKey(name)));
        }

        Console.Error.WriteLine($"merge bench: dataset of {(long)jobs * jobLines:N0} images in {jobs:N0} jobs merged in {setup.Elapsed.TotalSeconds:F0} s");

        var intoBig = new List<Stage>();
        var intoEmpty = new List<Stage>();
        for (var r = 0; r < repeat; r++)
        {
            // The same job (same lines, same items) into the big dataset and into a fresh, empty one.
            var name = JobName(jobs + r);
            var first = (jobs + r) * jobLines;
            ledger.Jobs[name] = (first, jobLines);
            await WriteJobOutputAsync(big, name, first, jobLines, ct);
            var empty = new FileSystemObjectStore(Path.Combine(root, "empty-" + r));
            await WriteJobOutputAsync(empty, name, first, jobLines, ct);
            var emptyMerger = new DatasetMerger(empty, ledger, options with { WorkDirectory = Path.Combine(root, "work-empty") }, new DatasetBuilder(), outputs: ledger);

            intoEmpty.Add(await MeasureAsync("", jobLines, async () => await emptyMerger.MergeAsync(Completed(name), ct)));
            intoBig.Add(await MeasureAsync("", jobLines, async () => await merger.MergeAsync(Completed(name), ct)));
        }

        Stage Median(List<Stage> runs, string title)
        {
            var m = runs.OrderBy(s => s.Elapsed).ElementAt(runs.Count / 2);
            return m with { Name = title, PeakWorkingSetBytes = runs.Max(s => s.PeakWorkingSetBytes) };
        }

        return
        [
            Median(intoEmpty, $"merge a {jobLines:N0}-line job into an empty dataset (median of {repeat})"),
            Median(intoBig, $"merge the same job into a {(long)jobs * jobLines:N0}-image dataset ({jobs:N0} shards; median of {repeat})"),
        ];
    }

    private static string JobName(int j) => "bench-job-k" + j.ToString("D6", CultureInfo.InvariantCulture);

    private static byte[] Completed(string job) =>
        Encoding.UTF8.GetBytes(JobStateChangeEvent.Create($"arn:aws:sagemaker:us-east-1:123456789012:labeling-job/{job}", "Completed", When).ToJson());

    private static async Task WriteJobOutputAsync(FileSystemObjectStore store, string job, int first, int count, CancellationToken ct)
    {
        var path = store.PathOf(Bucket, LabelingConventions.JobOutputManifestKey(job));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await using var w = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
        for (var i = first; i < first + count; i++)
        {
            await w.WriteLineAsync(HumanLine(i, job).AsMemory(), ct);
        }
    }

    /// <summary>Highest VmHWM seen before any reset, so the whole run's peak survives the per-stage resets.</summary>
    private static long _runPeak;

    private static async Task<Stage> MeasureAsync(string name, long lines, Func<Task> run)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using (var before = Process.GetCurrentProcess())
        {
            _runPeak = Math.Max(_runPeak, before.PeakWorkingSet64);
        }

        ResetPeakWorkingSet();
        var allocated = GC.GetTotalAllocatedBytes(precise: false);
        using var self = Process.GetCurrentProcess();
        var cpu = self.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        await run();
        sw.Stop();
        self.Refresh();
        return new Stage(name, lines, sw.Elapsed, self.TotalProcessorTime - cpu, self.PeakWorkingSet64, GC.GetTotalAllocatedBytes(precise: false) - allocated);
    }

    /// <summary>Linux resets the peak resident set size (VmHWM) when "5" is written to clear_refs.</summary>
    private static void ResetPeakWorkingSet()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Not Linux or not allowed: the figure is then the process-lifetime peak, an upper bound.
        }
    }

    private static async Task<(long Output, long Auto)> WriteInputsAsync(string outputPath, string autoPath, int lines, double overlap, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(outputPath)!);
        Directory.CreateDirectory(Path.GetDirectoryName(autoPath)!);
        var overlapCount = (int)(lines * overlap);
        await using (var w = new StreamWriter(outputPath, false, new UTF8Encoding(false), 1 << 16) { NewLine = "\n" })
        {
            for (var i = 0; i < lines; i++)
            {
                await w.WriteLineAsync(HumanLine(i, Job));
            }
        }

        await using (var w = new StreamWriter(autoPath, false, new UTF8Encoding(false), 1 << 16) { NewLine = "\n" })
        {
            // The first overlapCount auto-labeled images were audited (also in the job); the rest are new.
            for (var i = 0; i < lines; i++)
            {
                await w.WriteLineAsync(AutoLine(i < overlapCount ? i : lines + i));
            }
        }

        ct.ThrowIfCancellationRequested();
        return (new FileInfo(outputPath).Length, new FileInfo(autoPath).Length);
    }

    private static string Sha(int i) => i.ToString("x8", CultureInfo.InvariantCulture).PadLeft(64, 'c');

    private const string SourceRefPrefix = "s3://bench-incoming/incoming/bench-device/2026/11/26/";

    /// <summary>
    /// The source-ref of image <paramref name="i"/> (<see cref="Sha"/> inside the prefix), built in place: the synthetic
    /// ledger lists one per job item inside the measured merge, so it should cost one string, as a real ledger page does.
    /// </summary>
    private static string SourceRef(int i) => string.Create(SourceRefPrefix.Length + 64 + 4, i, static (span, i) =>
    {
        SourceRefPrefix.AsSpan().CopyTo(span);
        var sha = span.Slice(SourceRefPrefix.Length, 64);
        sha.Fill('c');
        i.TryFormat(sha[56..], out _, "x8", CultureInfo.InvariantCulture);
        ".jpg".AsSpan().CopyTo(span[(SourceRefPrefix.Length + 64)..]);
    });

    private static string HumanLine(int i, string job)
    {
        var x = 10 + i % 500;
        return string.Create(CultureInfo.InvariantCulture,
            $"{{\"source-ref\":\"{SourceRef(i)}\",\"parts-model\":{{\"image_size\":[{{\"width\":1024,\"height\":768,\"depth\":3}}],\"annotations\":[{{\"class_id\":0,\"top\":41,\"left\":{x},\"height\":80,\"width\":60}}]}},\"parts-model-metadata\":{{\"objects\":[{{\"confidence\":0.41}}],\"class-map\":{{\"0\":\"bolt\"}},\"type\":\"groundtruth/object-detection\",\"human-annotated\":\"no\",\"creation-date\":\"2026-11-25T10:00:00.000000\",\"job-name\":\"labeling-job/edge-auto-bench-device\"}},\"parts-human\":{{\"image_size\":[{{\"width\":1024,\"height\":768,\"depth\":3}}],\"annotations\":[{{\"class_id\":0,\"top\":40.5,\"left\":{x}.25,\"height\":81.0,\"width\":60.5}},{{\"class_id\":2,\"top\":300.0,\"left\":200.75,\"height\":30.0,\"width\":30.0}}]}},\"parts-human-metadata\":{{\"objects\":[{{\"confidence\":0.0}},{{\"confidence\":0.0}}],\"class-map\":{{\"0\":\"bolt\",\"2\":\"washer\"}},\"type\":\"groundtruth/object-detection\",\"human-annotated\":\"yes\",\"creation-date\":\"2026-11-26T07:01:02.123456\",\"job-name\":\"labeling-job/{job}\",\"adjustment-status\":\"adjusted\"}}}}");
    }

    private static string AutoLine(int i) => string.Create(CultureInfo.InvariantCulture,
        $"{{\"source-ref\":\"{SourceRef(i)}\",\"parts\":{{\"image_size\":[{{\"width\":640,\"height\":480,\"depth\":3}}],\"annotations\":[{{\"class_id\":1,\"top\":12,\"left\":{i % 400},\"height\":50,\"width\":44}}]}},\"parts-metadata\":{{\"objects\":[{{\"confidence\":0.91}}],\"class-map\":{{\"1\":\"nut\"}},\"type\":\"groundtruth/object-detection\",\"human-annotated\":\"no\",\"creation-date\":\"2026-11-25T10:00:00.000000\",\"job-name\":\"labeling-job/edge-auto-bench-device\"}}}}");

    /// <summary>
    /// Job items generated on the fly (a range of image numbers per job), so the ledger itself costs no memory in
    /// the measurement; every job is reported Completed with its output at the documented location.
    /// </summary>
    private sealed class SyntheticLedger : IJobItemsLedger, IJobOutputLocator
    {
        public Dictionary<string, (int First, int Count)> Jobs { get; } = new(StringComparer.Ordinal);

        public Task<JobOutputReport> DescribeAsync(string jobName, CancellationToken cancellationToken = default) =>
            Task.FromResult(new JobOutputReport("Completed", $"s3://{Bucket}/{LabelingConventions.JobOutputManifestKey(jobName)}", null, Jobs[jobName].Count));

        public async IAsyncEnumerable<string> ListJobItemsAsync(string jobName, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            var (first, count) = Jobs[jobName];
            for (var i = first; i < first + count; i++)
            {
                yield return SourceRef(i);
            }

            await Task.CompletedTask;
        }

        public Task MarkLabeledAsync(string jobName, IReadOnlyCollection<string> sourceRefs, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task<EdgeLabeling.Labeling.Pending.ReturnOutcome> ReturnToPendingAsync(string jobName, IReadOnlyCollection<string> sourceRefs, string reason, CancellationToken cancellationToken = default) =>
            Task.FromResult(new EdgeLabeling.Labeling.Pending.ReturnOutcome(sourceRefs.Count, 0));

        public Task CloseJobAsync(string jobName, string status, CancellationToken cancellationToken = default) => Task.CompletedTask;
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(List<Dictionary<string, object>>))]
[System.Text.Json.Serialization.JsonSerializable(typeof(long))]
[System.Text.Json.Serialization.JsonSerializable(typeof(double))]
internal sealed partial class BenchJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
