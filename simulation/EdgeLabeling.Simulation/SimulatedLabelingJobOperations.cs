using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace EdgeLabeling.Simulation;

/// <summary>A SageMaker API error: the type goes into "__type", the status into the HTTP response.</summary>
public sealed class SageMakerApiException(int statusCode, string errorType, string message) : Exception(message)
{
    public int StatusCode { get; } = statusCode;
    public string ErrorType { get; } = errorType;
}

/// <summary>
/// The labeling-job operations the simulated endpoint serves (CreateLabelingJob, DescribeLabelingJob,
/// ListLabelingJobs, StopLabelingJob): each reads its awsJson 1.1 request body, checks it as SageMaker would
/// (CreateLabelingJob through <see cref="ICreateLabelingJobRules"/>) and answers with the operation's output
/// members, over the jobs of a <see cref="SimulatedJobRegistry"/>. Errors are <see cref="SageMakerApiException"/>s.
/// </summary>
internal sealed class SimulatedLabelingJobOperations(SimulatedJobRegistry jobs, ICreateLabelingJobRules rules, string region)
{
    /// <summary>Runs one operation (the part of X-Amz-Target after "SageMaker."); null is an empty JSON answer.</summary>
    public JsonObject? Invoke(string operation, JsonElement request) => operation switch
    {
        "CreateLabelingJob" => CreateLabelingJob(request),
        "DescribeLabelingJob" => DescribeLabelingJob(request),
        "ListLabelingJobs" => ListLabelingJobs(request),
        "StopLabelingJob" => StopLabelingJob(request),
        var op => throw new SageMakerApiException(400, "UnknownOperationException", $"Operation '{op}' is not supported by the Ground Truth simulation."),
    };

    private JsonObject CreateLabelingJob(JsonElement request)
    {
        var errors = rules.Check(request, region);
        if (errors.Count > 0)
        {
            throw new SageMakerApiException(400, "ValidationException", $"{errors.Count} validation error{(errors.Count == 1 ? "" : "s")} detected: {string.Join("; ", errors)}");
        }

        var name = request.GetProperty("LabelingJobName").GetString()!;
        var job = jobs.Create(name, (JsonObject)JsonNode.Parse(request.GetRawText())!);
        return new JsonObject { ["LabelingJobArn"] = job.Arn };
    }

    private JsonObject DescribeLabelingJob(JsonElement request)
    {
        var job = jobs.Find(RequiredName(request));
        lock (job)
        {
            var r = job.Request;
            var d = new JsonObject
            {
                ["LabelingJobStatus"] = job.Status.ToString(),
                ["LabelCounters"] = job.Counters(),
                ["CreationTime"] = Epoch(job.CreationTime),
                ["LastModifiedTime"] = Epoch(job.LastModifiedTime),
                ["JobReferenceCode"] = job.ReferenceCode,
                ["LabelingJobName"] = job.Name,
                ["LabelingJobArn"] = job.Arn,
                ["LabelAttributeName"] = r["LabelAttributeName"]?.DeepClone(),
                ["InputConfig"] = r["InputConfig"]?.DeepClone(),
                ["OutputConfig"] = r["OutputConfig"]?.DeepClone(),
                ["RoleArn"] = r["RoleArn"]?.DeepClone(),
                ["HumanTaskConfig"] = r["HumanTaskConfig"]?.DeepClone(),
            };
            foreach (var optional in new[] { "LabelCategoryConfigS3Uri", "StoppingConditions", "LabelingJobAlgorithmsConfig", "Tags" })
            {
                if (r[optional] is { } v)
                {
                    d[optional] = v.DeepClone();
                }
            }

            if (job.FailureReason is not null)
            {
                d["FailureReason"] = job.FailureReason;
            }

            if (job.OutputDatasetS3Uri is not null)
            {
                d["LabelingJobOutput"] = new JsonObject { ["OutputDatasetS3Uri"] = job.OutputDatasetS3Uri };
            }

            return d;
        }
    }

    private JsonObject ListLabelingJobs(JsonElement request)
    {
        var max = 10;
        if (request.TryGetProperty("MaxResults", out var mr))
        {
            if (mr.ValueKind != JsonValueKind.Number || !mr.TryGetInt32(out max) || max is < 1 or > 100)
            {
                throw new SageMakerApiException(400, "ValidationException", $"1 validation error detected: Value '{mr}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100");
            }
        }

        var descending = request.TryGetProperty("SortOrder", out var so) && so.GetString() switch
        {
            "Ascending" => false,
            "Descending" => true,
            var other => throw new SageMakerApiException(400, "ValidationException", $"1 validation error detected: Value '{other}' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: [Ascending, Descending]"),
        };
        var sortBy = request.TryGetProperty("SortBy", out var sb) ? sb.GetString() : "CreationTime";
        if (sortBy is not ("Name" or "CreationTime" or "Status"))
        {
            throw new SageMakerApiException(400, "ValidationException", $"1 validation error detected: Value '{sortBy}' at 'sortBy' failed to satisfy constraint: Member must satisfy enum value set: [Name, CreationTime, Status]");
        }

        var nameContains = request.TryGetProperty("NameContains", out var nc) ? nc.GetString() : null;
        var createdAfter = EpochMember(request, "CreationTimeAfter");
        var createdBefore = EpochMember(request, "CreationTimeBefore");
        var statusEquals = request.TryGetProperty("StatusEquals", out var se) ? se.GetString() : null;
        var offset = 0;
        if (request.TryGetProperty("NextToken", out var nt) && nt.GetString() is { Length: > 0 } token)
        {
            try
            {
                offset = int.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(token)).Replace("offset:", "", StringComparison.Ordinal), CultureInfo.InvariantCulture);
            }
            catch (FormatException)
            {
                throw new SageMakerApiException(400, "ValidationException", "Invalid pagination token.");
            }
        }

        IEnumerable<SimulatedJob> matching = jobs.Jobs.Where(j =>
            (nameContains is null || j.Name.Contains(nameContains, StringComparison.OrdinalIgnoreCase)) &&
            (statusEquals is null || j.Status.ToString() == statusEquals) &&
            (createdAfter is null || j.CreationTime > createdAfter) &&
            (createdBefore is null || j.CreationTime < createdBefore));
        matching = sortBy switch
        {
            "Name" => matching.OrderBy(j => j.Name, StringComparer.Ordinal),
            "Status" => matching.OrderBy(j => j.Status.ToString(), StringComparer.Ordinal),
            _ => matching.OrderBy(j => j.CreationTime).ThenBy(j => j.Sequence),
        };
        var all = descending ? matching.Reverse().ToList() : matching.ToList();
        var page = all.Skip(offset).Take(max).ToList();
        var list = new JsonArray();
        foreach (var j in page)
        {
            lock (j)
            {
                var summary = new JsonObject
                {
                    ["LabelingJobName"] = j.Name,
                    ["LabelingJobArn"] = j.Arn,
                    ["CreationTime"] = Epoch(j.CreationTime),
                    ["LastModifiedTime"] = Epoch(j.LastModifiedTime),
                    ["LabelingJobStatus"] = j.Status.ToString(),
                    ["LabelCounters"] = j.Counters(),
                    ["WorkteamArn"] = j.Request["HumanTaskConfig"]?["WorkteamArn"]?.DeepClone(),
                    ["PreHumanTaskLambdaArn"] = j.Request["HumanTaskConfig"]?["PreHumanTaskLambdaArn"]?.DeepClone(),
                    ["AnnotationConsolidationLambdaArn"] = j.Request["HumanTaskConfig"]?["AnnotationConsolidationConfig"]?["AnnotationConsolidationLambdaArn"]?.DeepClone(),
                    ["InputConfig"] = j.Request["InputConfig"]?.DeepClone(),
                };
                if (j.FailureReason is not null)
                {
                    summary["FailureReason"] = j.FailureReason;
                }

                if (j.OutputDatasetS3Uri is not null)
                {
                    summary["LabelingJobOutput"] = new JsonObject { ["OutputDatasetS3Uri"] = j.OutputDatasetS3Uri };
                }

                list.Add(summary);
            }
        }

        var result = new JsonObject { ["LabelingJobSummaryList"] = list };
        if (offset + page.Count < all.Count)
        {
            result["NextToken"] = Convert.ToBase64String(Encoding.UTF8.GetBytes("offset:" + (offset + page.Count).ToString(CultureInfo.InvariantCulture)));
        }

        return result;
    }

    private JsonObject? StopLabelingJob(JsonElement request)
    {
        jobs.Stop(RequiredName(request));

        // StopLabelingJob has no output members: the body is empty JSON.
        return null;
    }

    private static string RequiredName(JsonElement request) =>
        request.TryGetProperty("LabelingJobName", out var n) && n.ValueKind == JsonValueKind.String && n.GetString() is { Length: > 0 } s
            ? s
            : throw new SageMakerApiException(400, "ValidationException", "1 validation error detected: Value null at 'labelingJobName' failed to satisfy constraint: Member must not be null");

    /// <summary>Timestamps travel as epoch seconds (a JSON number) in the json protocol.</summary>
    private static DateTimeOffset? EpochMember(JsonElement request, string member)
    {
        if (!request.TryGetProperty(member, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out var seconds))
        {
            throw new SageMakerApiException(400, "SerializationException", $"{member} must be a number of epoch seconds.");
        }

        return DateTimeOffset.FromUnixTimeMilliseconds((long)(seconds * 1000));
    }

    private static double Epoch(DateTimeOffset t) => Math.Round(t.ToUnixTimeMilliseconds() / 1000.0, 3);
}
