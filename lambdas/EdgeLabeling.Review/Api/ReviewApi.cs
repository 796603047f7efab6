using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using EdgeLabeling.Contracts;
using EdgeLabeling.Review.BuiltIn;
using EdgeLabeling.Review.Tasks;

namespace EdgeLabeling.Review.Api;

/// <summary>A request as every adapter (the local server, the Lambda handler) hands it to the API core.</summary>
public sealed record ApiRequest(string Method, string Path, AuthResult Auth, ReadOnlyMemory<byte> Body);

/// <summary>Status and JSON body (null for 204).</summary>
public sealed record ApiResponse(int Status, JsonObject? Body)
{
    public static ApiResponse Error(int status, string code, string message) =>
        new(status, new JsonObject { ["error"] = code, ["message"] = message });
}

/// <summary>
/// The review API, independent of any host. Routes (all JSON, all behind authentication and the labelers group):
/// <list type="bullet">
/// <item><c>GET /api/jobs</c> — jobs with progress</item>
/// <item><c>POST /api/jobs/{job}/lease</c> — lease the next open task (204 when none is open)</item>
/// <item><c>GET /api/jobs/{job}/tasks/{index}?lease={leaseId}</c> — the leased task again (reload)</item>
/// <item><c>POST /api/jobs/{job}/tasks/{index}/heartbeat|submit|release</c> with <c>{"leaseId":…}</c> (+ the answer for submit)</item>
/// </list>
/// Refusals each have their own status and code: 401 unauthenticated/token-invalid/token-expired, 403 not-a-labeler,
/// 409 lease-held-by-another or already-submitted, 410 lease-expired/task-expired/job-closed, 400 malformed-request,
/// 404 not-found, 405 method-not-allowed, 413 body-too-large.
/// </summary>
public sealed partial class ReviewApi(BuiltInLabelingService backend, IImageUrlSigner images)
{
    public const int MaxBodyBytes = 64 * 1024;
    public const int MaxBoxes = 200;
    public const int MaxLabelLength = 256;

    private IReviewTaskStore Store => backend.Store;
    private ReviewOptions Options => backend.Options;

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex LeaseIdRegex();

    [GeneratedRegex("^(0|[1-9][0-9]{0,6})$")]
    private static partial Regex IndexRegex();

    public async Task<ApiResponse> HandleAsync(ApiRequest request, CancellationToken cancellationToken = default)
    {
        if (request.Auth.Caller is not { } caller)
        {
            return ApiResponse.Error(401, request.Auth.Code ?? "unauthenticated", request.Auth.Message ?? "sign in first");
        }

        if (!caller.Groups.Contains(Options.LabelersGroup, StringComparer.Ordinal))
        {
            return ApiResponse.Error(403, "not-a-labeler", $"'{caller.Name}' is signed in but not in the '{Options.LabelersGroup}' group; ask an administrator to add you");
        }

        if (request.Body.Length > MaxBodyBytes)
        {
            return ApiResponse.Error(413, "body-too-large", $"request bodies are limited to {MaxBodyBytes} bytes");
        }

        try
        {
            var parts = request.Path.Split('?', 2);
            var query = parts.Length == 2 ? parts[1] : null;
            var segments = parts[0].Split('/');
            return (request.Method, segments) switch
            {
                ("GET", ["", "api", "jobs"]) => await ListJobsAsync(cancellationToken).ConfigureAwait(false),
                ("POST", ["", "api", "jobs", var job, "lease"]) => await LeaseAsync(JobName(job), caller, cancellationToken).ConfigureAwait(false),
                ("GET", ["", "api", "jobs", var job, "tasks", var index]) => await GetTaskAsync(JobName(job), Index(index), caller, query, cancellationToken).ConfigureAwait(false),
                ("POST", ["", "api", "jobs", var job, "tasks", var index, var action]) when action is "heartbeat" or "submit" or "release" =>
                    await ChangeAsync(JobName(job), Index(index), action, caller, ParseBody(request.Body), cancellationToken).ConfigureAwait(false),
                (_, ["", "api", "jobs"]) or (_, ["", "api", "jobs", _, "lease"]) or (_, ["", "api", "jobs", _, "tasks", _]) or (_, ["", "api", "jobs", _, "tasks", _, "heartbeat" or "submit" or "release"]) =>
                    ApiResponse.Error(405, "method-not-allowed", $"{request.Method} is not allowed on {PathOnly(request.Path)}"),
                _ => ApiResponse.Error(404, "not-found", $"no API route {PathOnly(request.Path)}"),
            };
        }
        catch (MalformedRequestException ex)
        {
            return ApiResponse.Error(400, "malformed-request", ex.Message);
        }
    }

    private sealed class MalformedRequestException(string message) : Exception(message);

    private static string PathOnly(string path) => path.Split('?')[0];

    /// <summary>Job names follow Ground Truth's rule, which also rules out '..', '/', '%' and every other path trick.</summary>
    private static string JobName(string segment)
    {
        var name = segment;
        return GroundTruthManifest.IsValidName(name, 63)
            ? name
            : throw new MalformedRequestException($"job name '{Truncate(name)}' is not valid: 1-63 letters, digits or hyphens, starting and ending with a letter or digit");
    }

    private static int Index(string segment)
    {
        var s = segment;
        return IndexRegex().IsMatch(s)
            ? int.Parse(s, CultureInfo.InvariantCulture)
            : throw new MalformedRequestException($"task index '{Truncate(s)}' is not valid: a non-negative whole number without leading zeros");
    }

    private static string Truncate(string s) => s.Length > 80 ? s[..80] + "…" : s;

    private static JsonObject ParseBody(ReadOnlyMemory<byte> body)
    {
        if (body.IsEmpty)
        {
            throw new MalformedRequestException("the request needs a JSON body with leaseId");
        }

        try
        {
            return JsonNode.Parse(body.Span, documentOptions: new JsonDocumentOptions { MaxDepth = 8 }) as JsonObject
                ?? throw new MalformedRequestException("the body must be a JSON object");
        }
        catch (JsonException ex)
        {
            throw new MalformedRequestException("the body is not valid JSON: " + ex.Message);
        }
    }

    private static string LeaseId(JsonObject body) =>
        body["leaseId"] is JsonValue v && v.TryGetValue(out string? s) && LeaseIdRegex().IsMatch(s)
            ? s
            : throw new MalformedRequestException("leaseId must be the 32-character lease id the lease call returned");

    private async Task<ApiResponse> ListJobsAsync(CancellationToken ct)
    {
        var now = backend.Time.GetUtcNow();
        var list = new JsonArray();
        foreach (var job in await Store.ListJobsAsync(ct).ConfigureAwait(false))
        {
            var p = await Store.GetProgressAsync(job.Name, now, ct).ConfigureAwait(false);
            list.Add(new JsonObject
            {
                ["name"] = job.Name,
                ["status"] = job.Status,
                ["createdAt"] = job.CreatedAt.ToString("O", CultureInfo.InvariantCulture),
                ["availableUntil"] = job.AvailableUntil.ToString("O", CultureInfo.InvariantCulture),
                ["total"] = p.Total,
                ["submitted"] = p.Submitted,
                ["expired"] = p.Expired,
                ["leased"] = p.Leased,
                ["open"] = p.Open,
            });
        }

        return new ApiResponse(200, new JsonObject { ["jobs"] = list });
    }

    private async Task<ApiResponse> LeaseAsync(string jobName, ReviewCaller caller, CancellationToken ct)
    {
        var job = await Store.GetJobAsync(jobName, ct).ConfigureAwait(false);
        if (job is null)
        {
            return ApiResponse.Error(404, "job-not-found", $"there is no job '{jobName}'");
        }

        var now = backend.Time.GetUtcNow();
        if (job.Status != ReviewJobStatus.InProgress || now >= job.AvailableUntil)
        {
            return ApiResponse.Error(410, "job-closed", $"job '{job.Name}' is {(job.Status == ReviewJobStatus.InProgress ? "past its availability" : job.Status)}; it takes no more answers");
        }

        var task = await Store.LeaseNextAsync(job.Name, caller.Owner, now, LeaseEnd(job, now, now), ct).ConfigureAwait(false);
        return task is null ? new ApiResponse(204, null) : new ApiResponse(200, await TaskViewAsync(job, task, now, ct).ConfigureAwait(false));
    }

    /// <summary>A lease lasts the lease window, never past the task time limit from acceptance or the job's availability.</summary>
    private DateTimeOffset LeaseEnd(ReviewJob job, DateTimeOffset now, DateTimeOffset acceptedAt)
    {
        var end = now + Options.LeaseDuration;
        var limit = acceptedAt.AddSeconds(job.TaskTimeLimitSeconds);
        return new[] { end, limit, job.AvailableUntil }.Min();
    }

    private async Task<ApiResponse> GetTaskAsync(string jobName, int index, ReviewCaller caller, string? query, CancellationToken ct)
    {
        var leaseId = query?.Split('&').Select(p => p.Split('=', 2)).Where(p => p.Length == 2 && p[0] == "lease").Select(p => p[1]).FirstOrDefault();
        if (leaseId is null || !LeaseIdRegex().IsMatch(leaseId))
        {
            throw new MalformedRequestException("?lease= must be the 32-character lease id the lease call returned");
        }

        var (job, task, refusal) = await LoadAsync(jobName, index, ct).ConfigureAwait(false);
        if (refusal is not null)
        {
            return refusal;
        }

        var now = backend.Time.GetUtcNow();
        var check = ReviewLeaseRules.Check(task, caller.Owner, leaseId, now);
        return check == TaskChange.Ok ? new ApiResponse(200, await TaskViewAsync(job!, task!, now, ct).ConfigureAwait(false)) : Refusal(check, job!, task);
    }

    private async Task<(ReviewJob? Job, ReviewTask? Task, ApiResponse? Refusal)> LoadAsync(string jobName, int index, CancellationToken ct)
    {
        var job = await Store.GetJobAsync(jobName, ct).ConfigureAwait(false);
        if (job is null)
        {
            return (null, null, ApiResponse.Error(404, "job-not-found", $"there is no job '{jobName}'"));
        }

        var task = index < job.TaskCount ? await Store.GetTaskAsync(job.Name, index, ct).ConfigureAwait(false) : null;
        return task is null
            ? (job, null, ApiResponse.Error(404, "task-not-found", $"job '{job.Name}' has no task {index} (it has {job.TaskCount})"))
            : (job, task, null);
    }

    private async Task<ApiResponse> ChangeAsync(string jobName, int index, string action, ReviewCaller caller, JsonObject body, CancellationToken ct)
    {
        var leaseId = LeaseId(body);
        var (job, task, refusal) = await LoadAsync(jobName, index, ct).ConfigureAwait(false);
        if (refusal is not null)
        {
            return refusal;
        }

        var now = backend.Time.GetUtcNow();
        TaskChangeResult result;
        switch (action)
        {
            case "heartbeat":
                result = await Store.HeartbeatAsync(job!.Name, index, caller.Owner, leaseId, now, LeaseEnd(job, now, task!.AcceptedAt ?? now), ct).ConfigureAwait(false);
                break;
            case "release":
                result = await Store.ReleaseAsync(job!.Name, index, caller.Owner, leaseId, now, ct).ConfigureAwait(false);
                break;
            default:
                var answer = ParseAnswer(body, job!, task!);
                result = await Store.SubmitAsync(job!.Name, index, caller.Owner, leaseId, now, JsonSerializer.Serialize(answer, ReviewJsonContext.Default.ReviewAnswer), ct).ConfigureAwait(false);
                break;
        }

        if (result.Outcome != TaskChange.Ok)
        {
            return Refusal(result.Outcome, job, result.Task);
        }

        var response = new JsonObject { ["index"] = index, ["state"] = result.Task!.State.ToString() };
        if (action == "heartbeat")
        {
            response["leaseExpiresAt"] = result.Task.LeaseExpiresAt!.Value.ToString("O", CultureInfo.InvariantCulture);
        }

        if (action == "submit")
        {
            response["jobStatus"] = await backend.CompleteIfDoneAsync(job!.Name, ct).ConfigureAwait(false);
        }

        return new ApiResponse(200, response);
    }

    private static ApiResponse Refusal(TaskChange outcome, ReviewJob job, ReviewTask? task) => outcome switch
    {
        TaskChange.LeasedByAnother => ApiResponse.Error(409, "lease-held-by-another", $"task {task?.Index} of {job.Name} is leased by another labeler until {task?.LeaseExpiresAt:u}; if you had it, your lease ended. Take the next task."),
        TaskChange.LeaseExpired => ApiResponse.Error(410, "lease-expired", $"your lease on task {task?.Index} of {job.Name} has ended (it ran out or was released); your answer was not saved. Take the next task."),
        TaskChange.AlreadySubmitted => ApiResponse.Error(409, "already-submitted", $"task {task?.Index} of {job.Name} was already submitted"),
        TaskChange.TaskExpired => ApiResponse.Error(410, "task-expired", $"task {task?.Index} of {job.Name} expired (the job ended); your answer was not saved"),
        _ => ApiResponse.Error(404, "task-not-found", $"job '{job.Name}' has no such task"),
    };

    /// <summary>Checks every box against the image and the job's labels; the message names the first problem.</summary>
    private static ReviewAnswer ParseAnswer(JsonObject body, ReviewJob job, ReviewTask task)
    {
        var size = task.ImageSize!.Value;
        var noObjects = body["noObjects"] switch
        {
            null => false,
            JsonValue v when v.TryGetValue(out bool b) => b,
            _ => throw new MalformedRequestException("noObjects must be true or false"),
        };
        if (body["boxes"] is not JsonArray boxes)
        {
            throw new MalformedRequestException("boxes must be a list (empty with noObjects: true when the image shows nothing)");
        }

        if (boxes.Count > MaxBoxes)
        {
            throw new MalformedRequestException($"{boxes.Count} boxes is more than the {MaxBoxes} one image may have");
        }

        if (noObjects != (boxes.Count == 0))
        {
            throw new MalformedRequestException(noObjects ? "noObjects is true but boxes are drawn" : "no boxes drawn: send noObjects: true to say the image shows no objects");
        }

        var result = new List<ReviewBox>(boxes.Count);
        for (var i = 0; i < boxes.Count; i++)
        {
            if (boxes[i] is not JsonObject b)
            {
                throw new MalformedRequestException($"box {i + 1} is not an object");
            }

            var label = b["label"] is JsonValue lv && lv.TryGetValue(out string? l) ? l : null;
            if (label is null || label.Length is 0 or > MaxLabelLength)
            {
                throw new MalformedRequestException($"box {i + 1} needs a label of 1-{MaxLabelLength} characters");
            }

            if (!job.Categories.Contains(label, StringComparer.Ordinal))
            {
                throw new MalformedRequestException($"box {i + 1} has label '{Truncate(label)}', which is not one of the job's labels");
            }

            double Num(string name) => b[name] is JsonValue v && v.TryGetValue(out double d) && double.IsFinite(d)
                ? d
                : throw new MalformedRequestException($"box {i + 1} needs a finite number '{name}'");
            var (left, top, width, height) = (Num("left"), Num("top"), Num("width"), Num("height"));

            // A browser's float arithmetic can land a hair outside the image; a hundredth of a pixel is noise, more is a bad box.
            const double Slack = 0.01;
            if (width < 1 || height < 1)
            {
                throw new MalformedRequestException($"box {i + 1} is {width:0.##}×{height:0.##} px; boxes must be at least 1×1 px");
            }

            if (left < -Slack || top < -Slack || left + width > size.Width + Slack || top + height > size.Height + Slack)
            {
                throw new MalformedRequestException($"box {i + 1} ({left:0.##}, {top:0.##}, {width:0.##}×{height:0.##}) is not inside the {size.Width}×{size.Height} image");
            }

            left = Math.Max(0, left);
            top = Math.Max(0, top);
            result.Add(new ReviewBox(label, left, top, Math.Min(width, size.Width - left), Math.Min(height, size.Height - top)));
        }

        return new ReviewAnswer { Boxes = result };
    }

    private async Task<JsonObject> TaskViewAsync(ReviewJob job, ReviewTask task, DateTimeOffset now, CancellationToken ct)
    {
        var prior = PriorLabels.Find(task.InputLine);
        var priorBoxes = new JsonArray();
        foreach (var b in prior?.Boxes ?? [])
        {
            // Prior class ids index the job's category list (the batcher builds both from one list); the class-map names them too.
            var label = prior!.ClassMap.TryGetValue(b.ClassId, out var n) ? n : b.ClassId < job.Categories.Count ? job.Categories[b.ClassId] : null;
            if (label is null || !job.Categories.Contains(label, StringComparer.Ordinal))
            {
                continue;
            }

            priorBoxes.Add(new JsonObject { ["label"] = label, ["left"] = b.Left, ["top"] = b.Top, ["width"] = b.Width, ["height"] = b.Height });
        }

        var size = task.ImageSize!.Value;
        var expires = now + Options.ImageUrlLifetime;
        return new JsonObject
        {
            ["job"] = job.Name,
            ["index"] = task.Index,
            ["total"] = job.TaskCount,
            ["leaseId"] = task.LeaseId,
            ["leaseExpiresAt"] = task.LeaseExpiresAt!.Value.ToString("O", CultureInfo.InvariantCulture),
            ["serverTime"] = now.ToString("O", CultureInfo.InvariantCulture),
            ["imageUrl"] = await images.SignAsync(job, task, expires, ct).ConfigureAwait(false),
            ["imageKey"] = task.SourceRef,
            ["imageSize"] = new JsonObject { ["width"] = size.Width, ["height"] = size.Height },
            ["categories"] = new JsonArray([.. job.Categories.Select(c => (JsonNode)JsonValue.Create(c))]),
            ["priorBoxes"] = priorBoxes,
        };
    }
}
