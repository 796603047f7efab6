using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Simulation;

/// <summary>How objects whose task expired (or that every worker declined) appear in the output manifest.</summary>
public enum ExpiredObjectStyle
{
    /// <summary>
    /// The input line with "&lt;attr&gt;-metadata" holding a failure-reason and no "&lt;attr&gt;" label: what
    /// Ground Truth writes for data objects it could not label. The default.
    /// </summary>
    FailureReasonLine,

    /// <summary>The object is left out of the output manifest entirely.</summary>
    OmitLine,
}

/// <summary>How the simulated team labels: noise on top of the oracle's truth, and how many tasks expire.</summary>
public sealed record WorkforceOptions
{
    /// <summary>Each box edge moves by a uniform amount in ±this many pixels.</summary>
    public double BoxJitterPixels { get; init; } = 1.5;

    /// <summary>Probability that a worker misses a true object.</summary>
    public double MissRate { get; init; }

    /// <summary>Probability that a worker picks a wrong class for an object.</summary>
    public double WrongClassRate { get; init; }

    /// <summary>Fraction of objects whose task expires unanswered.</summary>
    public double ExpiredFraction { get; init; }

    public ExpiredObjectStyle ExpiredStyle { get; init; } = ExpiredObjectStyle.FailureReasonLine;

    /// <summary>Seed for the noise; the same seed, job and input give the same output.</summary>
    public int Seed { get; init; } = 20_261_126;

    /// <summary>Size of the private team (workers take objects round-robin).</summary>
    public int TeamSize { get; init; } = 5;

    /// <summary>Write annotations/worker-response and consolidated-annotation files (one object per image).</summary>
    public bool WriteAnnotationFiles { get; init; } = true;

    /// <summary>Throws naming the first setting out of range.</summary>
    public void Validate()
    {
        foreach (var (name, v) in new[] { ("MissRate", MissRate), ("WrongClassRate", WrongClassRate), ("ExpiredFraction", ExpiredFraction) })
        {
            if (!(v >= 0 && v <= 1))
            {
                throw new ArgumentOutOfRangeException(name, v, $"{name} must be between 0 and 1");
            }
        }

        if (!(BoxJitterPixels >= 0) || TeamSize < 1)
        {
            throw new ArgumentException("BoxJitterPixels must be >= 0 and TeamSize >= 1");
        }
    }
}

/// <summary>What a simulated job needs from its CreateLabelingJob request.</summary>
public sealed record LabelingJobSpec(
    string JobName,
    string LabelAttributeName,
    S3Location InputManifest,
    S3Location OutputPath,
    S3Location? LabelCategories,
    bool IsAdjustment,
    int WorkersPerObject,
    string Region);

/// <summary>Counts of one simulated run.</summary>
public sealed record WorkforceResult(long Objects, long Labeled, long Expired, long Adjusted, S3Location OutputManifest);

/// <summary>
/// SIMULATION ONLY — stands in for the five people of the private workforce. Reads a job's input manifest
/// from the object store, answers each object from an <see cref="IGroundTruthOracle"/> with configurable
/// noise, lets a fraction of tasks expire, and writes the result in Ground Truth's output layout under
/// {S3OutputPath}{job}/: manifests/output/output.manifest, annotations/worker-response/iteration-1/&lt;i&gt;/…,
/// annotations/consolidated-annotation/consolidation-response/iteration-1/….
/// </summary>
public sealed class SimulatedWorkforce(IObjectStore store, IGroundTruthOracle oracle, WorkforceOptions options, TimeProvider? timeProvider = null)
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    public WorkforceOptions Options => options;

    /// <summary>The bucket store the team reads inputs from and writes output to.</summary>
    public IObjectStore Store => store;

    /// <summary>
    /// Labels every object of the job's input manifest and writes the output layout; throws naming the problem
    /// (a ClientError) when an input is missing or invalid. With <paramref name="answeredObjects"/>, only that
    /// many objects from the start were reached (a job stopped or failed part way): the rest are left out of
    /// the output.
    /// </summary>
    public async Task<WorkforceResult> LabelAsync(LabelingJobSpec spec, string workDirectory, CancellationToken cancellationToken = default, long? answeredObjects = null)
    {
        options.Validate();
        var classNames = await ReadClassNamesAsync(spec, cancellationToken).ConfigureAwait(false);
        await CheckInputLimitsAsync(spec, cancellationToken).ConfigureAwait(false);
        var root = spec.OutputPath.Key.Length == 0 || spec.OutputPath.Key.EndsWith('/') ? spec.OutputPath.Key : spec.OutputPath.Key + "/";
        var jobRoot = $"{root}{spec.JobName}/";
        var outputKey = jobRoot + "manifests/output/output.manifest";
        var now = _time.GetUtcNow();
        var stamp = now.UtcDateTime.ToString("yyyy-MM-dd_HH:mm:ss", CultureInfo.InvariantCulture);
        var workers = Enumerable.Range(0, options.TeamSize).Select(i => new SimulatedWorker(spec.Region, options.Seed, i)).ToArray();

        Directory.CreateDirectory(workDirectory);
        var manifestSpool = Path.Combine(workDirectory, $"gt-output-{spec.JobName}-{Guid.NewGuid():N}.manifest");
        var consolidationSpool = Path.Combine(workDirectory, $"gt-consolidation-{spec.JobName}-{Guid.NewGuid():N}.json");
        long objects = 0, labeled = 0, expired = 0, adjusted = 0;
        try
        {
            await using (var input = await store.OpenReadAsync(spec.InputManifest.Bucket, spec.InputManifest.Key, cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"ClientError: input manifest {spec.InputManifest} does not exist"))
            await using (var manifest = new StreamWriter(manifestSpool, false, new UTF8Encoding(false)) { NewLine = "\n" })
            await using (var consolidationFile = new FileStream(consolidationSpool, FileMode.CreateNew))
            await using (var consolidation = new Utf8JsonWriter(consolidationFile))
            {
                consolidation.WriteStartArray();
                using var reader = new StreamReader(input, Encoding.UTF8);
                while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } text)
                {
                    if (string.IsNullOrWhiteSpace(text))
                    {
                        continue;
                    }

                    var index = objects++;
                    if (index >= answeredObjects)
                    {
                        continue;
                    }

                    var line = JsonNode.Parse(text) as JsonObject
                        ?? throw new InvalidOperationException($"ClientError: input manifest line {index + 1} is not a JSON object");
                    var sourceRef = line["source-ref"]?.GetValue<string>()
                        ?? throw new InvalidOperationException($"ClientError: input manifest line {index + 1} has no source-ref");
                    var random = new Random(StableSeed(options.Seed, spec.JobName, index));
                    var frame = await ShownFrameAsync(line, sourceRef, cancellationToken).ConfigureAwait(false);
                    var answer = frame is null ? null : oracle.Answer(sourceRef, frame.Upright);
                    if (answer is not null && frame!.Orientation != 1)
                    {
                        // The worker sees the stored pixels: an object of the upright truth is drawn where it is stored.
                        answer = new OracleAnswer(answer.Boxes.Select(frame.ToStored).ToList());
                    }

                    if (answer is null || random.NextDouble() < options.ExpiredFraction)
                    {
                        expired++;
                        if (options.ExpiredStyle == ExpiredObjectStyle.FailureReasonLine)
                        {
                            line[spec.LabelAttributeName + "-metadata"] = new JsonObject
                            {
                                ["retry-count"] = 1,
                                ["failure-reason"] = answer is null
                                    ? "ClientError: The data object could not be shown to workers."
                                    : "ClientError: The task expired before a worker submitted an answer.",
                                ["human-annotated"] = "yes",
                                ["type"] = GroundTruthManifest.ObjectDetectionType,
                                ["creation-date"] = GroundTruthManifest.FormatCreationDate(now),
                                ["job-name"] = "labeling-job/" + spec.JobName,
                            };
                            await manifest.WriteLineAsync(line.ToJsonString()).ConfigureAwait(false);
                        }

                        continue;
                    }

                    var imageSize = frame!.Stored;
                    var drawings = Enumerable.Range(0, spec.WorkersPerObject).Select(_ => Draw(answer.Boxes, imageSize, classNames.Count, random)).ToList();
                    var boxes = Consolidate(drawings, answer.Boxes.Count);
                    var extras = line.Where(kv => kv.Key != "source-ref").ToList();
                    var output = GroundTruthManifest.BuildLine(sourceRef, spec.LabelAttributeName, imageSize, boxes, classNames, true, "labeling-job/" + spec.JobName, now, extras);
                    if (spec.IsAdjustment)
                    {
                        var wasAdjusted = WasAdjusted(text, line, spec.LabelAttributeName, boxes);
                        adjusted += wasAdjusted ? 1 : 0;
                        output[spec.LabelAttributeName + "-metadata"]!["adjustment-status"] = wasAdjusted ? "adjusted" : "unadjusted";
                    }

                    await manifest.WriteLineAsync(output.ToJsonString()).ConfigureAwait(false);
                    labeled++;

                    if (options.WriteAnnotationFiles)
                    {
                        var assigned = Enumerable.Range(0, drawings.Count).Select(w => workers[(index + w) % workers.Length]).ToList();
                        var response = WorkerResponse(assigned, drawings, classNames, imageSize, now, random);
                        await store.PutBytesAsync(spec.OutputPath.Bucket, $"{jobRoot}annotations/worker-response/iteration-1/{index}/{stamp}.json",
                            Encoding.UTF8.GetBytes(response.ToJsonString()), "application/json", cancellationToken: cancellationToken).ConfigureAwait(false);
                        consolidation.WriteStartObject();
                        consolidation.WriteString("datasetObjectId", index.ToString(CultureInfo.InvariantCulture));
                        consolidation.WritePropertyName("consolidatedAnnotation");
                        new JsonObject
                        {
                            ["content"] = new JsonObject
                            {
                                [spec.LabelAttributeName] = output[spec.LabelAttributeName]!.DeepClone(),
                                [spec.LabelAttributeName + "-metadata"] = output[spec.LabelAttributeName + "-metadata"]!.DeepClone(),
                            },
                        }.WriteTo(consolidation);
                        consolidation.WriteEndObject();
                    }
                }

                consolidation.WriteEndArray();
            }

            await PutFileAsync(spec.OutputPath.Bucket, outputKey, manifestSpool, "application/jsonlines", cancellationToken).ConfigureAwait(false);
            if (options.WriteAnnotationFiles)
            {
                await PutFileAsync(spec.OutputPath.Bucket, $"{jobRoot}annotations/consolidated-annotation/consolidation-response/iteration-1/{stamp}.json", consolidationSpool, "application/json", cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            File.Delete(manifestSpool);
            File.Delete(consolidationSpool);
        }

        return new WorkforceResult(objects, labeled, expired, adjusted, new S3Location(spec.OutputPath.Bucket, outputKey));
    }

    /// <summary>Most characters Ground Truth accepts in one input manifest line (input-data-limits).</summary>
    public const int MaxLineCharacters = 100_000;

    /// <summary>Most characters Ground Truth accepts in one attribute of a line (input-data-limits).</summary>
    public const int MaxAttributeCharacters = 20_000;

    /// <summary>
    /// The documented input limits, checked over the whole manifest before anyone works: a line over
    /// 100,000 characters, an attribute over 20,000, an attribute name starting with '$' or an image that
    /// is not .jpg/.jpeg/.png fails the job with a ClientError naming the line, as the service fails a job
    /// whose input it cannot use.
    /// </summary>
    private async Task CheckInputLimitsAsync(LabelingJobSpec spec, CancellationToken cancellationToken)
    {
        await using var input = await store.OpenReadAsync(spec.InputManifest.Bucket, spec.InputManifest.Key, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"ClientError: input manifest {spec.InputManifest} does not exist");
        using var reader = new StreamReader(input, Encoding.UTF8);
        var number = 0;
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } text)
        {
            number++;
            if (string.IsNullOrWhiteSpace(text))
            {
                continue;
            }

            if (text.Length > MaxLineCharacters)
            {
                throw new InvalidOperationException($"ClientError: input manifest line {number} has {text.Length:N0} characters; a line may have at most {MaxLineCharacters:N0}");
            }

            JsonObject line;
            try
            {
                line = JsonNode.Parse(text) as JsonObject ?? throw new InvalidOperationException($"ClientError: input manifest line {number} is not a JSON object");
            }
            catch (JsonException ex)
            {
                throw new InvalidOperationException($"ClientError: input manifest line {number} is not valid JSON: {ex.Message}", ex);
            }

            foreach (var (name, value) in line)
            {
                if (name.StartsWith('$'))
                {
                    throw new InvalidOperationException($"ClientError: input manifest line {number}: attribute name '{name}' must not start with '$'");
                }

                var length = value is JsonValue v && v.TryGetValue(out string? str) ? str.Length : value?.ToJsonString().Length ?? 4;
                if (length > MaxAttributeCharacters)
                {
                    throw new InvalidOperationException($"ClientError: input manifest line {number}: attribute '{name}' has {length:N0} characters; an attribute may have at most {MaxAttributeCharacters:N0}");
                }
            }

            if (line["source-ref"] is JsonValue sr && sr.TryGetValue(out string? sourceRef)
                && !ObjectKeyLayout.HasImageExtension(sourceRef))
            {
                throw new InvalidOperationException($"ClientError: input manifest line {number}: '{sourceRef}' is not a {ObjectKeyLayout.ImageExtensionsText} image");
            }
        }
    }

    /// <summary>One worker's boxes: each true object may be missed, given a wrong class, and its edges jittered.</summary>
    private List<(int Truth, PixelBox Box)> Draw(IReadOnlyList<PixelBox> truth, ImageSize size, int classCount, Random random)
    {
        var boxes = new List<(int, PixelBox)>(truth.Count);
        var j = options.BoxJitterPixels;
        for (var k = 0; k < truth.Count; k++)
        {
            var t = truth[k];
            if (random.NextDouble() < options.MissRate)
            {
                continue;
            }

            var cls = t.ClassId;
            if (classCount > 1 && random.NextDouble() < options.WrongClassRate)
            {
                cls = (cls + 1 + random.Next(classCount - 1)) % classCount;
            }

            double Jit() => (random.NextDouble() * 2 - 1) * j;
            var left = Math.Clamp(t.Left + Jit(), 0, size.Width - 1);
            var top = Math.Clamp(t.Top + Jit(), 0, size.Height - 1);
            var right = Math.Clamp(t.Right + Jit(), left + 1, size.Width);
            var bottom = Math.Clamp(t.Bottom + Jit(), top + 1, size.Height);
            boxes.Add((k, new PixelBox(cls, left, top, right - left, bottom - top, 0)));
        }

        return boxes;
    }

    /// <summary>
    /// What the consolidation Lambda does, simply: an object is kept when most workers drew it, its box
    /// is the mean of theirs (hence float coordinates) and its class the most common one. With one worker
    /// the confidence is 0.00, as the docs say; with several it is the share of workers who agreed.
    /// </summary>
    private static List<PixelBox> Consolidate(IReadOnlyList<List<(int Truth, PixelBox Box)>> drawings, int truthCount)
    {
        var result = new List<PixelBox>();
        for (var k = 0; k < truthCount; k++)
        {
            var drawn = drawings.SelectMany(d => d).Where(d => d.Truth == k).Select(d => d.Box).ToList();
            if (drawn.Count == 0 || (drawings.Count > 1 && drawn.Count * 2 <= drawings.Count))
            {
                continue;
            }

            var cls = drawn.GroupBy(b => b.ClassId).OrderByDescending(g => g.Count()).ThenBy(g => g.Key).First().Key;
            var agreeing = drawn.Where(b => b.ClassId == cls).ToList();
            var confidence = drawings.Count == 1 ? 0.0 : Math.Round((double)agreeing.Count / drawings.Count, 2);
            result.Add(new PixelBox(cls, agreeing.Average(b => b.Left), agreeing.Average(b => b.Top), agreeing.Average(b => b.Width), agreeing.Average(b => b.Height), confidence));
        }

        return result;
    }

    /// <summary>Adjustment jobs report whether the worker changed the prior boxes.</summary>
    private static bool WasAdjusted(string text, JsonObject line, string attr, IReadOnlyList<PixelBox> boxes)
    {
        foreach (var (key, value) in line)
        {
            if (key != attr && !key.EndsWith("-metadata", StringComparison.Ordinal) && value is JsonObject && line[key + "-metadata"] is JsonObject)
            {
                try
                {
                    var prior = GroundTruthManifest.Parse(text, key);
                    var same = prior.Boxes.Count == boxes.Count && BoxAgreement.Match(prior.Boxes, boxes, 0.98) == boxes.Count;
                    return !same;
                }
                catch (FormatException)
                {
                    continue;
                }
            }
        }

        return true;
    }

    private static JsonObject WorkerResponse(IReadOnlyList<SimulatedWorker> workers, IReadOnlyList<List<(int Truth, PixelBox Box)>> drawings, IReadOnlyList<string> classNames, ImageSize size, DateTimeOffset now, Random random)
    {
        var answers = new JsonArray();
        for (var w = 0; w < drawings.Count; w++)
        {
            var seconds = Math.Round(8 + random.NextDouble() * 40, 3);
            var drawn = new JsonArray();
            foreach (var (_, b) in drawings[w])
            {
                // The crowd-bounding-box element reports whole pixels.
                drawn.Add(new JsonObject
                {
                    ["height"] = (int)Math.Round(b.Height),
                    ["label"] = classNames[b.ClassId],
                    ["left"] = (int)Math.Round(b.Left),
                    ["top"] = (int)Math.Round(b.Top),
                    ["width"] = (int)Math.Round(b.Width),
                });
            }

            answers.Add(new JsonObject
            {
                ["acceptanceTime"] = now.AddSeconds(-seconds - 2).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                ["answerContent"] = new JsonObject
                {
                    ["boundingBox"] = new JsonObject
                    {
                        ["boundingBoxes"] = drawn,
                        ["inputImageProperties"] = new JsonObject { ["height"] = size.Height, ["width"] = size.Width },
                    },
                },
                ["submissionTime"] = now.AddSeconds(-2).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                ["timeSpentInSeconds"] = seconds,
                ["workerId"] = workers[w].WorkerId,
                ["workerMetadata"] = new JsonObject
                {
                    ["identityData"] = new JsonObject
                    {
                        ["identityProviderType"] = "Cognito",
                        ["issuer"] = workers[w].Issuer,
                        ["sub"] = workers[w].Sub,
                    },
                },
            });
        }

        return new JsonObject { ["answers"] = answers };
    }

    private async Task<IReadOnlyList<string>> ReadClassNamesAsync(LabelingJobSpec spec, CancellationToken cancellationToken)
    {
        if (spec.LabelCategories is not { } loc)
        {
            throw new InvalidOperationException("ClientError: the simulation needs LabelCategoryConfigS3Uri to name the classes");
        }

        var bytes = await store.ReadBytesAsync(loc.Bucket, loc.Key, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"ClientError: label category file {loc} does not exist");
        LabelCategoryConfig? config;
        try
        {
            config = JsonSerializer.Deserialize(bytes, ContractsJsonContext.Default.LabelCategoryConfig);
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException($"ClientError: label category file {loc} is not valid JSON: {ex.Message}", ex);
        }

        if (config is null || config.Version != LabelCategoryConfig.DocumentVersion || config.Labels.Count is < 1 or > 50)
        {
            throw new InvalidOperationException($"ClientError: label category file {loc} must have document-version {LabelCategoryConfig.DocumentVersion} and 1-50 labels");
        }

        return [.. config.Labels.Select(l => l.Label)];
    }

    /// <summary>
    /// What the worker is shown: the image object's stored frame when it is a readable JPEG/PNG (as Ground Truth
    /// loads it); for objects that are no image (tests that put none), the size of a prior label or the sidecar.
    /// </summary>
    private async Task<StoredImageFrame?> ShownFrameAsync(JsonObject line, string sourceRef, CancellationToken cancellationToken)
    {
        try
        {
            var loc = S3Location.Parse(sourceRef);
            if (await store.ReadBytesAsync(loc.Bucket, loc.Key, cancellationToken).ConfigureAwait(false) is { } image
                && StoredImageFrame.TryRead(image) is { } frame)
            {
                return frame;
            }
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException)
        {
            return null;
        }

        return await ImageSizeOfAsync(line, sourceRef, cancellationToken).ConfigureAwait(false) is { } size ? new StoredImageFrame(size, 1) : null;
    }

    /// <summary>The image size from any prior label on the line, else from the edge's sidecar next to the image.</summary>
    private async Task<ImageSize?> ImageSizeOfAsync(JsonObject line, string sourceRef, CancellationToken cancellationToken)
    {
        foreach (var (_, value) in line)
        {
            if (value is JsonObject o && o["image_size"] is JsonArray { Count: > 0 } a && a[0] is JsonObject s
                && s["width"] is JsonValue w && s["height"] is JsonValue h && w.TryGetValue(out int width) && h.TryGetValue(out int height))
            {
                return new ImageSize(width, height);
            }
        }

        try
        {
            var loc = S3Location.Parse(sourceRef);
            var sidecar = await ObjectContent.ReadJsonBytesAsync(store, loc.Bucket, ObjectKeyLayout.SidecarKey(loc.Key), ReviewRecord.MaxSidecarBytes, cancellationToken).ConfigureAwait(false);
            return sidecar is null ? null : ReviewRecord.Parse(sidecar).ImageSize.ToImageSize();
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidDataException or ObjectTooLargeException)
        {
            return null;
        }
    }

    private async Task PutFileAsync(string bucket, string key, string path, string contentType, CancellationToken cancellationToken)
    {
        await using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
        await store.PutAsync(bucket, key, fs, contentType, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>FNV-1a over the inputs: string.GetHashCode is randomized per process, this is not.</summary>
    private static int StableSeed(int seed, string jobName, long index)
    {
        var h = 2166136261u ^ (uint)seed;
        foreach (var c in jobName)
        {
            h = (h ^ c) * 16777619u;
        }

        h = (h ^ (uint)index) * 16777619u;
        h = (h ^ (uint)(index >> 32)) * 16777619u;
        return (int)(h & 0x7fffffff);
    }

    private sealed record SimulatedWorker(string WorkerId, string Issuer, string Sub)
    {
        public SimulatedWorker(string region, int seed, int i)
            : this(
                $"private.{region}.sim{seed:x}{i:x4}",
                $"https://cognito-idp.{region}.amazonaws.com/{region}_SimTeam",
                new Guid(seed, (short)i, 0, new byte[8]).ToString())
        {
        }
    }
}
