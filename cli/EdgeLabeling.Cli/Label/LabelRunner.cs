using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.Inference;
using EdgeLabeling.Routing;

namespace EdgeLabeling.Cli.Label;

/// <summary>Exit codes of <c>edgelabel label</c> (and of <see cref="LabelRunException.ExitCode"/>).</summary>
public static class LabelExitCodes
{
    public const int Success = 0;

    /// <summary>Unexpected failure (I/O error on the output, a bug).</summary>
    public const int Failure = 1;

    /// <summary>Bad arguments, bad config, missing or empty input directory.</summary>
    public const int BadInput = 2;

    /// <summary>Model file missing or not loadable.</summary>
    public const int ModelError = 3;
}

/// <summary>A run that cannot start or go on; <see cref="Exception.Message"/> is one line naming the problem.</summary>
public sealed class LabelRunException(int exitCode, string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>One of <see cref="LabelExitCodes"/>.</summary>
    public int ExitCode { get; } = exitCode;
}

/// <summary>Progress after each decision. <c>Last.Input.Bytes</c> is only valid during the report: the buffer is reused afterwards.</summary>
/// <param name="Done">Images decided so far.</param>
/// <param name="Total">Images in the run.</param>
/// <param name="Last">The decision just made.</param>
public readonly record struct LabelRunProgress(int Done, int Total, ImageDecision Last);

/// <summary>Everything <c>edgelabel label</c> takes.</summary>
public sealed record LabelRunRequest
{
    /// <summary>ONNX model file.</summary>
    public required string ModelPath { get; init; }

    /// <summary>Folder of images (recursive; a first-level subfolder is the camera id).</summary>
    public required string InputDirectory { get; init; }

    /// <summary>Folder the manifests, copies and summary are written to (created when missing; an earlier run's outputs in it are replaced).</summary>
    public required string OutputDirectory { get; init; }

    /// <summary>JSON config file for <see cref="RoutingOptions"/>; defaults when null.</summary>
    public string? ConfigPath { get; init; }

    /// <summary>Class-names file overriding the model's metadata.</summary>
    public string? LabelsPath { get; init; }

    /// <summary>Decode threads (inference itself is serial on one session). Default: processor count.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// Model runs in flight at once on the one session; decisions stay in input order. Null: chosen for the model
    /// and the machine (<see cref="LabelRunner.AutoConcurrentRuns"/>).
    /// </summary>
    public int? ConcurrentRuns { get; init; }
}

/// <summary>Opens a detector for a model path and optional labels file; throws <see cref="ModelLoadException"/>.</summary>
public delegate IDetector DetectorFactory(string modelPath, string? labelsPath);

/// <summary>
/// Labels a folder of images: every image file (by extension; sorted, recursive, hidden files skipped) becomes one decision,
/// appended and flushed to the output as soon as it is made, so a crash loses nothing already decided and
/// a bad file never stops the run. Writes, under the output directory:
/// <list type="bullet">
/// <item><c>auto-labels.manifest</c>: a Ground Truth output line per auto-labeled or audit image;</item>
/// <item><c>review.manifest</c>: per review/audit image, the <see cref="ReviewRecord"/> JSON plus
/// <c>source-path</c> and <c>review-copy</c>; the image is copied to <c>review/</c>;</item>
/// <item><c>upright/</c>: for an EXIF-rotated auto-labeled image without a source bucket, the upright copy its
/// auto-label line points to;</item>
/// <item><c>quarantine/</c>: a copy of each unusable file and <c>{name}.reason.txt</c>;</item>
/// <item><c>decisions.jsonl</c>: one line per file (path, sha256, outcome, reason) including duplicates;</item>
/// <item><c>summary.json</c>: counts, timings, model hash and the options in force.</item>
/// </list>
/// A file in a subfolder takes the first folder name under the input as its camera id. Records describe the
/// bytes the edge component would upload (<see cref="UploadImageNormalizer"/>): an EXIF-rotated frame's copy
/// is written upright, and its SHA-256, key and boxes are those of the upright copy.
/// </summary>
public static class LabelRunner
{
    /// <summary>Ground Truth output lines of auto-labeled and audit images.</summary>
    public const string AutoLabelsFile = "auto-labels.manifest";

    /// <summary>Review records (+ source-path, review-copy) of review and audit images.</summary>
    public const string ReviewFile = "review.manifest";

    /// <summary>One line per file: path, sha256, camera, outcome, reason, detections.</summary>
    public const string DecisionsFile = "decisions.jsonl";

    /// <summary>The run summary (<see cref="LabelRunSummary"/>).</summary>
    public const string SummaryFile = "summary.json";

    /// <summary>Copies of review and audit images, by relative path.</summary>
    public const string ReviewFolder = "review";

    /// <summary>Copies of unusable files and their .reason.txt, by relative path.</summary>
    public const string QuarantineFolder = "quarantine";

    /// <summary>Upright copies of EXIF-rotated auto-labeled images (their auto-label lines point here when there is no source bucket).</summary>
    public const string UprightFolder = "upright";

    /// <summary>Loads config and model, then labels the input folder. Throws <see cref="LabelRunException"/> for anything that stops the run.</summary>
    public static LabelRunSummary Run(LabelRunRequest request, DetectorFactory openDetector, IProgress<LabelRunProgress>? progress = null, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(openDetector);
        if (request.Threads is < 1 or > 64)
        {
            throw new LabelRunException(LabelExitCodes.BadInput, $"--threads {request.Threads} must be between 1 and 64");
        }

        if (request.ConcurrentRuns is < 1 or > 16)
        {
            throw new LabelRunException(LabelExitCodes.BadInput, $"--concurrent-runs {request.ConcurrentRuns} must be between 1 and 16");
        }

        var options = LoadOptions(request.ConfigPath);
        var (files, skipped) = ListInput(request.InputDirectory, request.OutputDirectory);
        if (!File.Exists(request.ModelPath))
        {
            throw new LabelRunException(LabelExitCodes.ModelError, $"model file '{request.ModelPath}' does not exist");
        }

        if (request.LabelsPath is not null && !File.Exists(request.LabelsPath))
        {
            throw new LabelRunException(LabelExitCodes.BadInput, $"labels file '{request.LabelsPath}' does not exist");
        }

        IDetector detector;
        try
        {
            detector = openDetector(request.ModelPath, request.LabelsPath);
        }
        catch (ModelLoadException ex)
        {
            throw new LabelRunException(LabelExitCodes.ModelError, $"model '{request.ModelPath}' cannot be loaded: {OneLine(ex.Message)}", ex);
        }

        using (detector)
        {
            RoutingPolicy policy;
            try
            {
                policy = new RoutingPolicy(options, detector.Info.ClassNames);
            }
            catch (RoutingConfigException ex)
            {
                throw new LabelRunException(LabelExitCodes.BadInput, OneLine(ex.Message), ex);
            }

            var labeler = new ImageLabeler(detector, policy);
            var concurrentRuns = request.ConcurrentRuns ?? AutoConcurrentRuns(detector.Info, Environment.ProcessorCount);
            return Run(labeler, request.InputDirectory, files, request.OutputDirectory, request.Threads, progress, time, cancellationToken, skipped, concurrentRuns);
        }
    }

    /// <summary>
    /// Runs in flight when the caller does not say: two where there are two cores and the model input is at most
    /// 416×416, else one. On a small model one single-threaded run per core beats one run with two intra-op threads
    /// (1.79× the Node.js peer instead of ~1.4×, docs/benchmarks.md); on a 640×640 model the second run's
    /// intermediate tensors cost ~40 MB of peak memory (240 instead of 200 MB over 500 images), past the CLI's
    /// 200 MB budget.
    /// </summary>
    public static int AutoConcurrentRuns(DetectorInfo model, int processorCount)
    {
        ArgumentNullException.ThrowIfNull(model);
        return processorCount >= 2 && (long)model.InputWidth * model.InputHeight <= 416 * 416 ? 2 : 1;
    }

    /// <summary>Reads the config file, or returns defaults when <paramref name="configPath"/> is null.</summary>
    public static RoutingOptions LoadOptions(string? configPath)
    {
        if (configPath is null)
        {
            return new RoutingOptions().Validate();
        }

        if (!File.Exists(configPath))
        {
            throw new LabelRunException(LabelExitCodes.BadInput, $"config file '{configPath}' does not exist");
        }

        try
        {
            return RoutingOptions.Load(configPath);
        }
        catch (RoutingConfigException ex)
        {
            throw new LabelRunException(LabelExitCodes.BadInput, OneLine(ex.Message), ex);
        }
    }

    /// <summary>
    /// File name extensions taken as images. Formats Ground Truth cannot take (GIF, BMP, WebP, TIFF, HEIF/AVIF)
    /// are included so that they are quarantined with a reason instead of being ignored; anything else
    /// (label .txt files, JSON sidecars, notes) is skipped and counted.
    /// </summary>
    public static readonly IReadOnlySet<string> ImageExtensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        ".gif", ".bmp", ".webp", ".tif", ".tiff", ".heic", ".heif", ".avif",
    }.Union(ObjectKeyLayout.ImageExtensions.Select(e => "." + e)).ToHashSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Image files (by extension, see <see cref="ImageExtensions"/>) under <paramref name="inputDirectory"/>,
    /// recursively, in ordinal path order (stable across machines); hidden files and folders and the output
    /// directory (when inside the input) are left out. The content, not the name, decides what happens next.
    /// </summary>
    public static IReadOnlyList<string> FindImages(string inputDirectory, string? outputDirectory = null) =>
        ListInput(inputDirectory, outputDirectory).Images;

    private static (List<string> Images, int Skipped) ListInput(string inputDirectory, string? outputDirectory)
    {
        if (!Directory.Exists(inputDirectory))
        {
            throw new LabelRunException(LabelExitCodes.BadInput, $"input directory '{inputDirectory}' does not exist");
        }

        var root = Path.GetFullPath(inputDirectory);
        var exclude = outputDirectory is null ? null : Path.TrimEndingDirectorySeparator(Path.GetFullPath(outputDirectory)) + Path.DirectorySeparatorChar;
        var enumeration = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = FileAttributes.Hidden | FileAttributes.System, IgnoreInaccessible = true };
        var files = Directory.EnumerateFiles(root, "*", enumeration)
            .Where(f => !Path.GetRelativePath(root, f).Split(Path.DirectorySeparatorChar).Any(part => part.StartsWith('.')))
            .Where(f => exclude is null || !f.StartsWith(exclude, StringComparison.Ordinal))
            .ToList();
        var images = files.Where(f => ImageExtensions.Contains(Path.GetExtension(f))).Order(StringComparer.Ordinal).ToList();
        if (images.Count == 0)
        {
            var others = files.Count == 0 ? "" : $" (only {files.Count} other file(s))";
            throw new LabelRunException(LabelExitCodes.BadInput, $"input directory '{inputDirectory}' has no image files ({ObjectKeyLayout.ImageExtensionsText}){others}");
        }

        return (images, files.Count - images.Count);
    }

    /// <summary>Labels the given files (already sorted) with an existing labeler; <paramref name="skippedFiles"/> only goes into the summary.</summary>
    public static LabelRunSummary Run(ImageLabeler labeler, string inputDirectory, IReadOnlyList<string> files, string outputDirectory, int threads, IProgress<LabelRunProgress>? progress = null, TimeProvider? time = null, CancellationToken cancellationToken = default, int skippedFiles = 0, int concurrentRuns = 1)
    {
        ArgumentNullException.ThrowIfNull(labeler);
        ArgumentNullException.ThrowIfNull(files);
        time ??= TimeProvider.System;
        var root = Path.GetFullPath(inputDirectory);
        var records = new LabelRecords(labeler.Detector, labeler.Policy.Options);
        var normalizer = new UploadImageNormalizer();
        var started = time.GetUtcNow();
        var clock = Stopwatch.StartNew();
        var writing = new Stopwatch();
        var counts = new Dictionary<RoutingOutcome, int>();
        var reasons = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var detections = 0;

        ResetOutput(outputDirectory);
        using var output = OpenOutput(outputDirectory);

        // Enough for every frame in flight (read-ahead of 2 per thread, the pipeline's two, the one being written).
        var fileBuffers = new BoundedBufferPool((2 * threads) + 4 + concurrentRuns);
        var done = 0;
        foreach (var decided in DecideInOrder(labeler, root, files, threads, concurrentRuns, fileBuffers, cancellationToken))
        {
            writing.Start();
            // Same frame as the edge component: the records describe the bytes it would upload.
            var (decision, uploadBytes) = normalizer.Apply(decided, decided.Input.Bytes);
            Write(output, records, decision, uploadBytes, decided.Sha256, root, outputDirectory, time.GetUtcNow());
            writing.Stop();

            counts[decision.Outcome] = counts.GetValueOrDefault(decision.Outcome) + 1;
            var reasonKey = decision.Reason.StartsWith(RoutingReasons.UncertainPrefix, StringComparison.Ordinal)
                ? decision.Reason[..decision.Reason.IndexOf('@', StringComparison.Ordinal)]
                : decision.Reason.StartsWith(RoutingReasons.DuplicatePrefix, StringComparison.Ordinal) ? "duplicate" : decision.Reason;
            reasons[reasonKey] = reasons.GetValueOrDefault(reasonKey) + 1;
            if (decision.Outcome is RoutingOutcome.AutoLabel or RoutingOutcome.HumanReview or RoutingOutcome.Audit)
            {
                detections += decision.Boxes.Count;
            }

            progress?.Report(new LabelRunProgress(++done, files.Count, decision));
            ReturnBytes(fileBuffers, decision.Input);
        }

        output.Sync();
        var elapsed = clock.Elapsed.TotalSeconds;
        var info = labeler.Detector;
        var summary = new LabelRunSummary
        {
            Images = files.Count,
            Skipped = skippedFiles,
            AutoLabel = counts.GetValueOrDefault(RoutingOutcome.AutoLabel),
            HumanReview = counts.GetValueOrDefault(RoutingOutcome.HumanReview),
            Audit = counts.GetValueOrDefault(RoutingOutcome.Audit),
            Duplicate = counts.GetValueOrDefault(RoutingOutcome.Duplicate),
            Quarantine = counts.GetValueOrDefault(RoutingOutcome.Quarantine),
            Detections = detections,
            Reasons = reasons,
            StartedAt = started,
            ElapsedSeconds = Math.Round(elapsed, 3),
            ImagesPerSecond = elapsed > 0 ? Math.Round(files.Count / elapsed, 2) : 0,
            WriteSeconds = Math.Round(writing.Elapsed.TotalSeconds, 3),
            Threads = threads,
            ConcurrentRuns = concurrentRuns,
            Model = new LabelRunModel
            {
                Path = info.ModelPath,
                Sha256 = info.ModelSha256,
                Layout = info.Layout,
                InputWidth = info.InputWidth,
                InputHeight = info.InputHeight,
                ClassNames = info.ClassNames,
            },
            Options = labeler.Policy.Options,
            Input = root,
            Output = Path.GetFullPath(outputDirectory),
        };
        AtomicWrite(Path.Combine(outputDirectory, SummaryFile), summary.ToJson() + "\n");
        return summary;
    }

    /// <summary>Decisions in file order, through the one edge pipeline (<see cref="ImagePipeline"/>).</summary>
    private static IEnumerable<ImageDecision> DecideInOrder(ImageLabeler labeler, string root, IReadOnlyList<string> files, int threads, int concurrentRuns, BoundedBufferPool fileBuffers, CancellationToken cancellationToken) =>
        ImagePipeline.DecideInOrder(labeler, files, path => ReadInput(root, path, fileBuffers), threads, cancellationToken, concurrentRuns)
            // ReadInput never answers null: an unreadable file becomes an empty input and is quarantined.
            .Select(d => d.Decision!);

    private static ImageInput ReadInput(string root, string path, BoundedBufferPool buffers)
    {
        var relative = Path.GetRelativePath(root, path);
        var parts = relative.Split(Path.DirectorySeparatorChar);
        var camera = parts.Length > 1 ? parts[0] : null;
        ReadOnlyMemory<byte> bytes;
        try
        {
            bytes = ReadRented(path, buffers);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // An unreadable file becomes an empty input and is quarantined like any other bad image.
            bytes = ReadOnlyMemory<byte>.Empty;
        }

        return new ImageInput(path, bytes, camera, new DateTimeOffset(File.GetLastWriteTimeUtc(path), TimeSpan.Zero));
    }

    /// <summary>
    /// Reads a whole file into a buffer from <paramref name="buffers"/>. Frames are usually over the 85 KB
    /// large-object threshold, so a fresh array per frame (File.ReadAllBytes) made the large-object heap grow by
    /// megabytes between the full collections that reclaim it; a handful of pooled buffers is reused instead.
    /// The run returns the buffer with <see cref="ReturnBytes"/> once the decision is written.
    /// </summary>
    private static ReadOnlyMemory<byte> ReadRented(string path, BoundedBufferPool buffers)
    {
        // bufferSize 1 turns off FileStream's own buffer: the data goes straight into the rented array.
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        var length = stream.Length;
        if (length == 0)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        if (length > Array.MaxLength)
        {
            throw new IOException($"'{path}' is {length:N0} bytes, larger than any image this tool accepts.");
        }

        var buffer = buffers.Rent((int)length);
        var read = 0;
        try
        {
            // A file that shrinks while being read yields what was there, like File.ReadAllBytes would.
            int n;
            while (read < length && (n = stream.Read(buffer, read, (int)length - read)) > 0)
            {
                read += n;
            }
        }
        catch
        {
            buffers.Return(buffer);
            throw;
        }

        return new ReadOnlyMemory<byte>(buffer, 0, read);
    }

    /// <summary>Gives a buffer from <see cref="ReadRented"/> back to the pool; nothing may read the input afterwards.</summary>
    private static void ReturnBytes(BoundedBufferPool buffers, ImageInput input)
    {
        if (MemoryMarshal.TryGetArray(input.Bytes, out var segment) && segment.Array is { Length: > 0 } array)
        {
            buffers.Return(array);
        }
    }

    /// <param name="decision">The decision as the normalizer left it (its SHA-256 is that of <paramref name="uploadBytes"/>).</param>
    /// <param name="fileSha256">SHA-256 of the input file itself.</param>
    private static void Write(Outputs output, LabelRecords records, ImageDecision decision, ReadOnlyMemory<byte> uploadBytes, string fileSha256, string root, string outputDirectory, DateTimeOffset now)
    {
        var relative = Path.GetRelativePath(root, decision.Input.SourcePath);
        var reencoded = decision.Sha256 != fileSha256;
        string? uploadCopy = null;
        switch (decision.Outcome)
        {
            case RoutingOutcome.Quarantine:
                var target = Path.Combine(outputDirectory, QuarantineFolder, relative);
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.WriteAllBytes(target, decision.Input.Bytes.Span);
                File.WriteAllText(target + ".reason.txt", decision.Reason + "\n" + (decision.Detail is null ? "" : OneLine(decision.Detail) + "\n"));
                break;
            case RoutingOutcome.HumanReview or RoutingOutcome.Audit:
                uploadCopy = Path.Combine(outputDirectory, ReviewFolder, relative);
                Directory.CreateDirectory(Path.GetDirectoryName(uploadCopy)!);
                File.WriteAllBytes(uploadCopy, uploadBytes.Span);
                var review = JsonSerializer.SerializeToNode(records.ReviewRecord(decision), ContractsJsonContext.Default.ReviewRecord)!.AsObject();
                review["source-path"] = Path.GetFullPath(decision.Input.SourcePath);
                review["review-copy"] = Path.Combine(ReviewFolder, relative).Replace(Path.DirectorySeparatorChar, '/');
                output.Review.AppendLine(review);
                break;
        }

        if (decision.Outcome is RoutingOutcome.AutoLabel or RoutingOutcome.Audit)
        {
            var line = decision;
            if (reencoded && records.Options.SourceBucket is null)
            {
                // A file:// source-ref must name bytes whose stored pixels are the boxes' frame, not the tagged original.
                if (uploadCopy is null)
                {
                    uploadCopy = Path.Combine(outputDirectory, UprightFolder, relative);
                    Directory.CreateDirectory(Path.GetDirectoryName(uploadCopy)!);
                    File.WriteAllBytes(uploadCopy, uploadBytes.Span);
                }

                line = decision with { Input = decision.Input with { SourcePath = uploadCopy } };
            }

            output.AutoLabels.AppendLine(records.AutoLabelLine(line, now));
        }

        var decided = new JsonObject
        {
            ["path"] = relative.Replace(Path.DirectorySeparatorChar, '/'),
            ["sha256"] = fileSha256,
            ["camera"] = decision.Input.Camera,
            ["outcome"] = decision.Outcome.ToWire(),
            ["reason"] = decision.Reason,
            ["detections"] = decision.Boxes.Count,
        };
        if (reencoded)
        {
            decided["upright-sha256"] = decision.Sha256;
        }

        output.Decisions.AppendLine(decided);
    }

    /// <summary>
    /// Removes what an earlier run left (only the files and folders this runner writes), so the output always
    /// describes exactly one run: stale review copies would otherwise look like current ones.
    /// </summary>
    private static void ResetOutput(string outputDirectory)
    {
        Directory.CreateDirectory(outputDirectory);
        foreach (var folder in new[] { ReviewFolder, QuarantineFolder, UprightFolder })
        {
            var path = Path.Combine(outputDirectory, folder);
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }

        File.Delete(Path.Combine(outputDirectory, SummaryFile));
    }

    private static Outputs OpenOutput(string outputDirectory) =>
        new(new LineWriter(Path.Combine(outputDirectory, AutoLabelsFile)),
            new LineWriter(Path.Combine(outputDirectory, ReviewFile)),
            new LineWriter(Path.Combine(outputDirectory, DecisionsFile)));

    private static void AtomicWrite(string path, string text)
    {
        var temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(Encoding.UTF8.GetBytes(text));
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, path, overwrite: true);
    }

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();

    private sealed record Outputs(LineWriter AutoLabels, LineWriter Review, LineWriter Decisions) : IDisposable
    {
        public void Sync()
        {
            AutoLabels.Sync();
            Review.Sync();
            Decisions.Sync();
        }

        public void Dispose()
        {
            AutoLabels.Dispose();
            Review.Dispose();
            Decisions.Dispose();
        }
    }

    /// <summary>
    /// JSON Lines file flushed to the OS after every line: a crashed process loses nothing already decided.
    /// fsync happens once at the end; per-line fsync would cost a disk round trip per image.
    /// </summary>
    private sealed class LineWriter(string path) : IDisposable
    {
        private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        private readonly FileStream _stream = new(path, FileMode.Create, FileAccess.Write, FileShare.Read);

        public void AppendLine(JsonNode node)
        {
            var bytes = Encoding.UTF8.GetBytes(node.ToJsonString(Compact) + "\n");
            _stream.Write(bytes);
            _stream.Flush();
        }

        public void Sync() => _stream.Flush(flushToDisk: true);

        public void Dispose() => _stream.Dispose();
    }
}
