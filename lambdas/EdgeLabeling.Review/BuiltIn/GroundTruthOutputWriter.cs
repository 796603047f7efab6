using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Review.Tasks;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Review.BuiltIn;

/// <summary>
/// Writes a finished built-in job in the layout a Ground Truth bounding-box (adjustment) job writes under
/// <c>{S3OutputPath}{job}/</c>: <c>manifests/output/output.manifest</c> — each input line with
/// <c>&lt;attr&gt;</c> and <c>&lt;attr&gt;-metadata</c> (objects, class-map, type, human-annotated "yes",
/// creation-date without zone with microseconds, job-name "labeling-job/&lt;name&gt;", adjustment-status for
/// adjustment jobs), or for an object nobody answered the failure-reason metadata and no label — and
/// <c>annotations/worker-response/iteration-1/&lt;index&gt;/…json</c> holding the worker id and identity,
/// which is where Ground Truth records who answered (the output line itself carries no worker id).
/// </summary>
public sealed class GroundTruthOutputWriter(IObjectStore objects)
{
    public const string ExpiredReason = "ClientError: The task expired before a worker submitted an answer.";
    public const string UnshowableReason = "ClientError: The data object could not be shown to workers.";

    // Boxes that overlap a prior box this much (IoU) with the same class count as "left as they were".
    private const double UnchangedIou = 0.98;

    /// <summary>Writes the layout; returns the output manifest's s3:// URI (LabelingJobOutput.OutputDatasetS3Uri).</summary>
    public async Task<string> WriteAsync(ReviewJob job, IAsyncEnumerable<ReviewTask> tasks, CancellationToken cancellationToken = default)
    {
        var (bucket, prefix) = S3Uris.Parse(job.OutputPath);
        var root = prefix.Length == 0 || prefix.EndsWith('/') ? prefix : prefix + "/";
        var jobRoot = $"{root}{job.Name}/";
        var outputKey = jobRoot + "manifests/output/output.manifest";
        using var manifest = new MemoryStream();
        await foreach (var task in tasks.WithCancellation(cancellationToken).ConfigureAwait(false))
        {
            var line = OutputLine(job, task);
            manifest.Write(Encoding.UTF8.GetBytes(line.ToJsonString()));
            manifest.WriteByte((byte)'\n');
            if (task.State == ReviewTaskState.Submitted)
            {
                var stamp = task.SubmittedAt!.Value.UtcDateTime.ToString("yyyy-MM-dd_HH:mm:ss", CultureInfo.InvariantCulture);
                await objects.PutBytesAsync(bucket, $"{jobRoot}annotations/worker-response/iteration-1/{task.Index}/{stamp}.json",
                    Encoding.UTF8.GetBytes(WorkerResponse(task, job.Categories).ToJsonString()), "application/json", cancellationToken: cancellationToken).ConfigureAwait(false);
            }
        }

        await objects.PutBytesAsync(bucket, outputKey, manifest.ToArray(), "application/jsonlines", cancellationToken: cancellationToken).ConfigureAwait(false);
        return $"s3://{bucket}/{outputKey}";
    }

    /// <summary>One output-manifest line for a task that is final (submitted or expired).</summary>
    public static JsonObject OutputLine(ReviewJob job, ReviewTask task)
    {
        var input = JsonNode.Parse(task.InputLine) as JsonObject ?? throw new InvalidDataException($"task {task.Index} of {job.Name} has no JSON input line");
        var jobName = "labeling-job/" + job.Name;
        if (task.State != ReviewTaskState.Submitted || task.ImageSize is null)
        {
            input[job.LabelAttributeName + "-metadata"] = new JsonObject
            {
                ["retry-count"] = 1,
                ["failure-reason"] = task.ImageSize is null ? UnshowableReason : ExpiredReason,
                ["human-annotated"] = "yes",
                ["type"] = GroundTruthManifest.ObjectDetectionType,
                ["creation-date"] = GroundTruthManifest.FormatCreationDate(task.SubmittedAt ?? job.AvailableUntil),
                ["job-name"] = jobName,
            };
            return input;
        }

        var answer = JsonSerializer.Deserialize(task.Answer!, ReviewJsonContext.Default.ReviewAnswer)!;
        var boxes = ToPixelBoxes(answer, job.Categories);
        var extras = input.Where(kv => kv.Key != "source-ref").ToList();

        // One worker per object: the docs say the confidence is then 0.00.
        var line = GroundTruthManifest.BuildLine(task.SourceRef, job.LabelAttributeName, task.ImageSize.Value, boxes, job.Categories, humanAnnotated: true, jobName, task.SubmittedAt!.Value, extras);
        if (job.Adjustment)
        {
            line[job.LabelAttributeName + "-metadata"]!["adjustment-status"] = WasAdjusted(task.InputLine, boxes) ? "adjusted" : "unadjusted";
        }

        return line;
    }

    public static List<PixelBox> ToPixelBoxes(ReviewAnswer answer, IReadOnlyList<string> categories)
    {
        var boxes = new List<PixelBox>(answer.Boxes.Count);
        foreach (var b in answer.Boxes)
        {
            var id = IndexOf(categories, b.Label);
            if (id < 0)
            {
                throw new InvalidDataException($"answer label '{b.Label}' is not one of the job's categories");
            }

            boxes.Add(new PixelBox(id, b.Left, b.Top, b.Width, b.Height, 0));
        }

        return boxes;
    }

    private static int IndexOf(IReadOnlyList<string> list, string value)
    {
        for (var i = 0; i < list.Count; i++)
        {
            if (string.Equals(list[i], value, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Unadjusted when the answer has exactly the prior's boxes, same classes, each overlapping almost entirely.</summary>
    private static bool WasAdjusted(string inputLine, IReadOnlyList<PixelBox> boxes)
    {
        var prior = PriorLabels.Find(inputLine);
        if (prior is null)
        {
            return boxes.Count > 0;
        }

        return !(prior.Boxes.Count == boxes.Count && BoxAgreement.Match(prior.Boxes, boxes, UnchangedIou) == boxes.Count);
    }

    /// <summary>The worker-response file Ground Truth writes per object: the raw answer, times and the worker's identity.</summary>
    private static JsonObject WorkerResponse(ReviewTask task, IReadOnlyList<string> categories)
    {
        var answer = JsonSerializer.Deserialize(task.Answer!, ReviewJsonContext.Default.ReviewAnswer)!;
        var drawn = new JsonArray();
        foreach (var b in answer.Boxes)
        {
            // The crowd-bounding-box element reports whole pixels.
            drawn.Add(new JsonObject
            {
                ["height"] = (int)Math.Round(b.Height),
                ["label"] = b.Label,
                ["left"] = (int)Math.Round(b.Left),
                ["top"] = (int)Math.Round(b.Top),
                ["width"] = (int)Math.Round(b.Width),
            });
        }

        var worker = ReviewWorkerId.Parse(task.SubmittedBy!);
        var accepted = task.AcceptedAt ?? task.SubmittedAt!.Value;
        return new JsonObject
        {
            ["answers"] = new JsonArray(new JsonObject
            {
                ["acceptanceTime"] = accepted.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                ["answerContent"] = new JsonObject
                {
                    ["boundingBox"] = new JsonObject
                    {
                        ["boundingBoxes"] = drawn,
                        ["inputImageProperties"] = new JsonObject { ["height"] = task.ImageSize!.Value.Height, ["width"] = task.ImageSize.Value.Width },
                    },
                },
                ["submissionTime"] = task.SubmittedAt!.Value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture),
                ["timeSpentInSeconds"] = Math.Round((task.SubmittedAt.Value - accepted).TotalSeconds, 3),
                ["workerId"] = worker.WorkerId,
                ["workerMetadata"] = new JsonObject
                {
                    ["identityData"] = new JsonObject
                    {
                        ["identityProviderType"] = worker.IdentityProviderType,
                        ["issuer"] = worker.Issuer,
                        ["sub"] = worker.Sub,
                    },
                },
            }),
        };
    }
}
