using System.Text.Json.Nodes;
using EdgeLabeling.Simulation;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Labeling.Tests.Simulation;

public sealed class GroundTruthSimulatorTests : IAsyncLifetime
{
    private SimulatorHarness _h = null!;

    public async Task InitializeAsync() => _h = await SimulatorHarness.StartAsync();

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private static string Describe(string job) => new JsonObject { ["LabelingJobName"] = job }.ToJsonString();

    [Fact]
    public async Task Handle_CorrectlySignedCreate_ReturnsTheJobArn()
    {
        var (status, body) = await _h.CallAsync("CreateLabelingJob", SimulatorHarness.ValidRequest("job-1"));

        Assert.Equal(200, status);
        Assert.Equal("arn:aws:sagemaker:us-east-1:123456789012:labeling-job/job-1", body["LabelingJobArn"]!.GetValue<string>());
    }

    [Fact]
    public async Task Handle_WrongSecret_Rejects403InvalidSignature()
    {
        var (status, body) = await _h.SendAsync("SageMaker.DescribeLabelingJob", Describe("x"), secret: "not-the-secret");

        Assert.Equal(403, status);
        Assert.Equal("InvalidSignatureException", body["__type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Handle_BodyChangedAfterSigning_Rejects403InvalidSignature()
    {
        var (status, body) = await _h.SendAsync("SageMaker.DescribeLabelingJob", Describe("x"), tamperedBody: Describe("y"));

        Assert.Equal(403, status);
        Assert.Equal("InvalidSignatureException", body["__type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Handle_NoAuthorizationHeader_Rejects403IncompleteSignature()
    {
        var (status, body) = await _h.SendAsync("SageMaker.DescribeLabelingJob", Describe("x"), sign: false);

        Assert.Equal(403, status);
        Assert.Equal("IncompleteSignatureException", body["__type"]!.GetValue<string>());
        Assert.Contains("Authorization", body["Message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Handle_SignedTwentyMinutesAgo_Rejects403SignatureExpired()
    {
        var (status, body) = await _h.SendAsync("SageMaker.DescribeLabelingJob", Describe("x"), signedAt: DateTimeOffset.UtcNow.AddMinutes(-20));

        Assert.Equal(403, status);
        Assert.Equal("InvalidSignatureException", body["__type"]!.GetValue<string>());
        Assert.Contains("expired", body["Message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Handle_UnknownAccessKey_Rejects403UnrecognizedClient()
    {
        var (status, body) = await _h.SendAsync("SageMaker.DescribeLabelingJob", Describe("x"), accessKey: "AKIAUNKNOWN000000000");

        Assert.Equal(403, status);
        Assert.Equal("UnrecognizedClientException", body["__type"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("SageMaker.DeleteLabelingJob")]
    [InlineData("AmazonSageMaker.CreateLabelingJob")]
    public async Task Handle_MissingOrUnknownTarget_Rejects400UnknownOperation(string? target)
    {
        var (status, body) = await _h.SendAsync(target, Describe("x"));

        Assert.Equal(400, status);
        Assert.Equal("UnknownOperationException", body["__type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Handle_JsonContentTypeOtherThanAmzJson11_Rejects400()
    {
        var (status, body) = await _h.SendAsync("SageMaker.DescribeLabelingJob", Describe("x"), contentType: "application/json");

        Assert.Equal(400, status);
        Assert.Equal("SerializationException", body["__type"]!.GetValue<string>());
    }

    public static TheoryData<string, Action<JsonObject>, string> InvalidRequests => new()
    {
        { "required member", r => r.Remove("RoleArn"), "Value null at 'roleArn' failed to satisfy constraint: Member must not be null" },
        { "required nested member", r => r["HumanTaskConfig"]!.AsObject().Remove("TaskTitle"), "Value null at 'humanTaskConfig.taskTitle'" },
        { "required data source", r => r["InputConfig"]!.AsObject().Remove("DataSource"), "Value null at 'inputConfig.dataSource'" },
        { "name pattern", r => r["LabelingJobName"] = "bad_name", "at 'labelingJobName' failed to satisfy constraint: Member must satisfy regular expression pattern" },
        { "name length", r => r["LabelingJobName"] = new string('a', 64), "at 'labelingJobName' failed to satisfy constraint: Member must have length less than or equal to 63" },
        { "title length", r => r["HumanTaskConfig"]!["TaskTitle"] = new string('t', 129), "'humanTaskConfig.taskTitle' failed to satisfy constraint: Member must have length less than or equal to 128" },
        { "description length", r => r["HumanTaskConfig"]!["TaskDescription"] = new string('d', 256), "'humanTaskConfig.taskDescription' failed to satisfy constraint: Member must have length less than or equal to 255" },
        { "keyword pattern", r => r["HumanTaskConfig"]!["TaskKeywords"] = new JsonArray("two  spaces"), "'humanTaskConfig.taskKeywords.member'" },
        { "too many keywords", r => r["HumanTaskConfig"]!["TaskKeywords"] = new JsonArray("a", "b", "c", "d", "e", "f"), "'humanTaskConfig.taskKeywords' failed to satisfy constraint: Member must have length between 1 and 5" },
        { "workers range", r => r["HumanTaskConfig"]!["NumberOfHumanWorkersPerDataObject"] = 10, "'humanTaskConfig.numberOfHumanWorkersPerDataObject' failed to satisfy constraint: Member must have value less than or equal to 9" },
        { "task time limit", r => r["HumanTaskConfig"]!["TaskTimeLimitInSeconds"] = 28_801, "'humanTaskConfig.taskTimeLimitInSeconds' failed to satisfy constraint: Member must have value less than or equal to 28800" },
        { "task time too short", r => r["HumanTaskConfig"]!["TaskTimeLimitInSeconds"] = 29, "Member must have value greater than or equal to 30" },
        { "availability", r => r["HumanTaskConfig"]!["TaskAvailabilityLifetimeInSeconds"] = 2_592_001, "'humanTaskConfig.taskAvailabilityLifetimeInSeconds'" },
        { "concurrent tasks", r => r["HumanTaskConfig"]!["MaxConcurrentTaskCount"] = 5001, "'humanTaskConfig.maxConcurrentTaskCount' failed to satisfy constraint: Member must have value less than or equal to 5000" },
        { "enum", r => r["InputConfig"]!["DataAttributes"]!["ContentClassifiers"] = new JsonArray("FreeOfCats"), "'inputConfig.dataAttributes.contentClassifiers'" },
        { "attribute -ref", r => r["LabelAttributeName"] = "parts-ref", "-ref" },
        { "attribute -metadata", r => r["LabelAttributeName"] = "parts-metadata", "-metadata" },
        { "lambda of another region", r => r["HumanTaskConfig"]!["PreHumanTaskLambdaArn"] = "arn:aws:lambda:eu-west-1:568282634449:function:PRE-AdjustmentBoundingBox", "Region 'us-east-1'" },
        { "lambda of the wrong account", r => r["HumanTaskConfig"]!["AnnotationConsolidationConfig"]!["AnnotationConsolidationLambdaArn"] = "arn:aws:lambda:us-east-1:111111111111:function:ACS-AdjustmentBoundingBox", "432418664414" },
        { "lambda region not documented", r => r["HumanTaskConfig"]!["PreHumanTaskLambdaArn"] = "arn:aws:lambda:sa-east-1:432418664414:function:PRE-AdjustmentBoundingBox", "sa-east-1" },
        { "mismatched task types", r => r["HumanTaskConfig"]!["PreHumanTaskLambdaArn"] = "arn:aws:lambda:us-east-1:432418664414:function:PRE-BoundingBox", "ACS-" },
        { "no consolidation", r => r["HumanTaskConfig"]!.AsObject().Remove("AnnotationConsolidationConfig"), "AnnotationConsolidationConfig is required" },
        { "s3 uri", r => r["OutputConfig"]!["S3OutputPath"] = "ftp://bucket/out", "'outputConfig.s3OutputPath'" },
        { "role arn", r => r["RoleArn"] = "arn:aws:iam::123:role/short", "'roleArn'" },
        { "too many tags", r => r["Tags"] = new JsonArray([.. Enumerable.Range(0, 51).Select(i => (JsonNode)new JsonObject { ["Key"] = $"k{i}", ["Value"] = "v" })]), "'tags'" },
    };

    [Theory]
    [MemberData(nameof(InvalidRequests))]
    public async Task CreateLabelingJob_BreaksAConstraint_Rejects400ValidationNamingIt(string what, Action<JsonObject> breakIt, string mentioned)
    {
        var request = SimulatorHarness.ValidRequest("job-invalid");
        breakIt(request);

        var (status, body) = await _h.CallAsync("CreateLabelingJob", request);

        Assert.True(status == 400, $"{what}: expected 400, got {status}");
        Assert.Equal("ValidationException", body["__type"]!.GetValue<string>());
        Assert.Contains(mentioned, body["Message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Null(_h.Simulator.StatusOf("job-invalid"));
    }

    [Fact]
    public async Task CreateLabelingJob_MemberOfWrongJsonType_Rejects400Serialization()
    {
        var request = SimulatorHarness.ValidRequest("job-types");
        request["HumanTaskConfig"]!["NumberOfHumanWorkersPerDataObject"] = "one";

        var (status, body) = await _h.CallAsync("CreateLabelingJob", request);

        Assert.Equal(400, status);
        Assert.Equal("SerializationException", body["__type"]!.GetValue<string>());
    }

    [Fact]
    public async Task CreateLabelingJob_NameTakenInOtherCase_Rejects400ResourceInUse()
    {
        Assert.Equal(200, (await _h.CallAsync("CreateLabelingJob", SimulatorHarness.ValidRequest("Parts-Job"))).Status);

        var (status, body) = await _h.CallAsync("CreateLabelingJob", SimulatorHarness.ValidRequest("parts-job"));

        Assert.Equal(400, status);
        Assert.Equal("ResourceInUse", body["__type"]!.GetValue<string>());
        Assert.Contains("Parts-Job", body["Message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DescribeLabelingJob_UnknownJob_Rejects400ResourceNotFound()
    {
        var (status, body) = await _h.CallAsync("DescribeLabelingJob", new JsonObject { ["LabelingJobName"] = "nope" });

        Assert.Equal(400, status);
        Assert.Equal("ResourceNotFound", body["__type"]!.GetValue<string>());
    }

    [Fact]
    public async Task DescribeLabelingJob_AfterCreateAndComplete_ShowsTheLifecycleAndOutput()
    {
        await _h.GivenInputAsync("job-life", 3);
        await _h.CallAsync("CreateLabelingJob", SimulatorHarness.ValidRequest("job-life"));
        var (_, created) = await _h.CallAsync("DescribeLabelingJob", new JsonObject { ["LabelingJobName"] = "job-life" });

        var final = await _h.Simulator.CompleteJobAsync("job-life");
        var (_, done) = await _h.CallAsync("DescribeLabelingJob", new JsonObject { ["LabelingJobName"] = "job-life" });

        Assert.Equal("Initializing", created["LabelingJobStatus"]!.GetValue<string>());
        Assert.Equal(SimulatedJobStatus.Completed, final);
        Assert.Equal("Completed", done["LabelingJobStatus"]!.GetValue<string>());
        Assert.Equal(3, done["LabelCounters"]!["TotalLabeled"]!.GetValue<long>());
        Assert.Equal(3, done["LabelCounters"]!["HumanLabeled"]!.GetValue<long>());
        Assert.Equal($"s3://{SimulatorHarness.Bucket}/jobs/output/job-life/manifests/output/output.manifest", done["LabelingJobOutput"]!["OutputDatasetS3Uri"]!.GetValue<string>());
        var created_at = done["CreationTime"]!.GetValue<double>();
        Assert.InRange(created_at, DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeSeconds());
        Assert.True(done["LastModifiedTime"]!.GetValue<double>() >= created_at);
        Assert.Equal("parts-human", done["LabelAttributeName"]!.GetValue<string>());
        Assert.NotNull(done["HumanTaskConfig"]);
        Assert.False(string.IsNullOrEmpty(done["JobReferenceCode"]!.GetValue<string>()));
        Assert.Single(_h.Events);
    }

    [Fact]
    public async Task CompleteJobAsync_InputManifestMissing_FailsTheJobWithAReasonAndEmitsFailed()
    {
        await _h.CallAsync("CreateLabelingJob", SimulatorHarness.ValidRequest("job-noinput"));

        var status = await _h.Simulator.CompleteJobAsync("job-noinput");
        var (_, d) = await _h.CallAsync("DescribeLabelingJob", new JsonObject { ["LabelingJobName"] = "job-noinput" });

        Assert.Equal(SimulatedJobStatus.Failed, status);
        Assert.Matches("^ClientError: .* does not exist$", d["FailureReason"]!.GetValue<string>());
        Assert.Contains("\"Failed\"", _h.Events.Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListLabelingJobs_FiveJobsPagesOfTwo_ReturnsAscendingByCreationWithNextToken()
    {
        foreach (var name in new[] { "job-e", "job-a", "job-d", "job-b", "job-c" })
        {
            await _h.CallAsync("CreateLabelingJob", SimulatorHarness.ValidRequest(name));
        }

        var names = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var request = new JsonObject { ["MaxResults"] = 2 };
            if (token is not null)
            {
                request["NextToken"] = token;
            }

            var (status, body) = await _h.CallAsync("ListLabelingJobs", request);
            Assert.Equal(200, status);
            names.AddRange(body["LabelingJobSummaryList"]!.AsArray().Select(s => s!["LabelingJobName"]!.GetValue<string>()));
            token = body["NextToken"]?.GetValue<string>();
            pages++;
        }
        while (token is not null);

        Assert.Equal(["job-e", "job-a", "job-d", "job-b", "job-c"], names);
        Assert.Equal(3, pages);
    }

    [Fact]
    public async Task ListLabelingJobs_MaxResultsOutOfRange_Rejects400Validation()
    {
        var (status, body) = await _h.CallAsync("ListLabelingJobs", new JsonObject { ["MaxResults"] = 101 });

        Assert.Equal(400, status);
        Assert.Equal("ValidationException", body["__type"]!.GetValue<string>());
    }

    [Fact]
    public async Task ListLabelingJobs_SortOrderNotAString_Rejects400Serialization()
    {
        var (status, body) = await _h.CallAsync("ListLabelingJobs", new JsonObject { ["SortOrder"] = 1 });

        Assert.Equal(400, status);
        Assert.Equal("SerializationException", body["__type"]!.GetValue<string>());
    }

    [Fact]
    public async Task ListLabelingJobs_CreationTimeAfterNow_ReturnsNothing()
    {
        await _h.CallAsync("CreateLabelingJob", SimulatorHarness.ValidRequest("job-old"));

        var (_, all) = await _h.CallAsync("ListLabelingJobs", new JsonObject());
        var (_, later) = await _h.CallAsync("ListLabelingJobs", new JsonObject { ["CreationTimeAfter"] = DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeSeconds() });

        Assert.Single(all["LabelingJobSummaryList"]!.AsArray());
        Assert.Empty(later["LabelingJobSummaryList"]!.AsArray());
    }

    [Fact]
    public async Task StopLabelingJob_RunningJob_GoesStoppingThenStoppedAndEmitsStopped()
    {
        await _h.CallAsync("CreateLabelingJob", SimulatorHarness.ValidRequest("job-stop"));

        var (status, body) = await _h.CallAsync("StopLabelingJob", new JsonObject { ["LabelingJobName"] = "job-stop" });
        var right = _h.Simulator.StatusOf("job-stop");
        await WaitForAsync("job-stop", SimulatedJobStatus.Stopped);

        Assert.Equal(200, status);
        Assert.Empty(body);
        Assert.True(right is SimulatedJobStatus.Stopping or SimulatedJobStatus.Stopped, $"right after the call: {right}");
        Assert.Equal(SimulatedJobStatus.Stopped, _h.Simulator.StatusOf("job-stop"));
        Assert.Contains("\"Stopped\"", _h.Events.Single(), StringComparison.Ordinal);
        Assert.Equal(SimulatedJobStatus.Stopped, await _h.Simulator.CompleteJobAsync("job-stop"));
    }

    /// <summary>Requests the batcher's own validator lets through but the service refuses: one shared mistake must not pass both.</summary>
    public static TheoryData<string, Action<JsonObject>, string> AcceptedByClientRejectedByService => new()
    {
        // .NET's '$' also matches before a final newline; the service's patterns match the whole value.
        { "job name with trailing newline", r => r["LabelingJobName"] = "parts-job-7\n", "'labelingJobName'" },
        { "keyword with trailing newline", r => r["HumanTaskConfig"]!["TaskKeywords"] = new JsonArray("parts\n"), "'humanTaskConfig.taskKeywords.member'" },
        { "role with trailing newline", r => r["RoleArn"] = "arn:aws:iam::123456789012:role/GroundTruthRole\n", "'roleArn'" },
        { "attribute with trailing newline", r => r["LabelAttributeName"] = "parts-human\n", "'labelAttributeName'" },
    };

    [Theory]
    [MemberData(nameof(AcceptedByClientRejectedByService))]
    public async Task CreateLabelingJob_MistakeTheClientValidatorShares_IsStillRejected(string what, Action<JsonObject> breakIt, string mentioned)
    {
        var request = SimulatorHarness.ValidRequest("job-shared-mistake");
        breakIt(request);
        var typed = System.Text.Json.JsonSerializer.Deserialize(request.ToJsonString(), LabelingJsonContext.Default.CreateLabelingJobRequest);
        Assert.True(EdgeLabeling.Labeling.SageMaker.CreateLabelingJobValidator.Validate(typed).Count == 0, $"{what}: the client validator is expected to let this through");

        var (status, body) = await _h.CallAsync("CreateLabelingJob", request);

        Assert.True(status == 400, $"{what}: expected 400, got {status}");
        Assert.Equal("ValidationException", body["__type"]!.GetValue<string>());
        Assert.Contains(mentioned, body["Message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DescribeLabelingJob_RunningJob_ReportsNoLabelingJobOutput()
    {
        await _h.GivenInputAsync("job-running", 3);
        await _h.CallAsync("CreateLabelingJob", SimulatorHarness.ValidRequest("job-running"));
        _h.Simulator.SetAnswered("job-running", 2);

        var (_, body) = await _h.CallAsync("DescribeLabelingJob", new JsonObject { ["LabelingJobName"] = "job-running" });

        Assert.Equal("InProgress", body["LabelingJobStatus"]!.GetValue<string>());
        Assert.Null(body["LabelingJobOutput"]);
    }

    [Fact]
    public async Task StopLabelingJob_AfterSomeAnswers_WritesThemToTheOutputAndDescribeReportsIt()
    {
        await _h.GivenInputAsync("job-part", 5);
        await _h.CallAsync("CreateLabelingJob", SimulatorHarness.ValidRequest("job-part"));
        _h.Simulator.SetAnswered("job-part", 2);

        await _h.CallAsync("StopLabelingJob", new JsonObject { ["LabelingJobName"] = "job-part" });
        await WaitForAsync("job-part", SimulatedJobStatus.Stopped);
        var (_, body) = await _h.CallAsync("DescribeLabelingJob", new JsonObject { ["LabelingJobName"] = "job-part" });

        var uri = body["LabelingJobOutput"]!["OutputDatasetS3Uri"]!.GetValue<string>();
        Assert.Equal($"s3://{SimulatorHarness.Bucket}/jobs/output/job-part/manifests/output/output.manifest", uri);
        var lines = System.Text.Encoding.UTF8.GetString((await _h.Store.ReadBytesAsync(SimulatorHarness.Bucket, "jobs/output/job-part/manifests/output/output.manifest"))!)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal([SimulatorHarness.SourceRef(1), SimulatorHarness.SourceRef(2)], lines.Select(l => EdgeLabeling.Contracts.GroundTruthManifest.Parse(l, "parts-human").SourceRef));
        Assert.Equal(2, body["LabelCounters"]!["HumanLabeled"]!.GetValue<long>());
        Assert.Contains("\"Stopped\"", _h.Events.Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StopLabelingJob_BeforeAnyAnswer_StopsWithoutLabelingJobOutput()
    {
        await _h.GivenInputAsync("job-early", 3);
        await _h.CallAsync("CreateLabelingJob", SimulatorHarness.ValidRequest("job-early"));

        await _h.CallAsync("StopLabelingJob", new JsonObject { ["LabelingJobName"] = "job-early" });
        await WaitForAsync("job-early", SimulatedJobStatus.Stopped);
        var (_, body) = await _h.CallAsync("DescribeLabelingJob", new JsonObject { ["LabelingJobName"] = "job-early" });

        Assert.Null(body["LabelingJobOutput"]);
        Assert.Null(await _h.Store.HeadAsync(SimulatorHarness.Bucket, "jobs/output/job-early/manifests/output/output.manifest"));
    }

    [Fact]
    public async Task FailJobAsync_AtTheStart_ReportsTheReasonAndNoOutput()
    {
        await _h.CallAsync("CreateLabelingJob", SimulatorHarness.ValidRequest("job-cors"));

        await _h.Simulator.FailJobAsync("job-cors", "ClientError: workers could not load the images (CORS)");
        var (_, body) = await _h.CallAsync("DescribeLabelingJob", new JsonObject { ["LabelingJobName"] = "job-cors" });

        Assert.Equal("Failed", body["LabelingJobStatus"]!.GetValue<string>());
        Assert.Contains("CORS", body["FailureReason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Null(body["LabelingJobOutput"]);
    }

    [Fact]
    public async Task FailJobAsync_AfterSomeAnswers_KeepsThemAsOutput()
    {
        await _h.GivenInputAsync("job-midway", 4);
        await _h.CallAsync("CreateLabelingJob", SimulatorHarness.ValidRequest("job-midway"));
        _h.Simulator.SetAnswered("job-midway", 3);

        await _h.Simulator.FailJobAsync("job-midway", "ClientError: the work team was deleted");
        var (_, body) = await _h.CallAsync("DescribeLabelingJob", new JsonObject { ["LabelingJobName"] = "job-midway" });

        Assert.Equal("Failed", body["LabelingJobStatus"]!.GetValue<string>());
        Assert.NotNull(body["LabelingJobOutput"]!["OutputDatasetS3Uri"]);
        Assert.Equal(3, body["LabelCounters"]!["HumanLabeled"]!.GetValue<long>());
    }

    public static TheoryData<string, Func<JsonObject, JsonObject>, string> InputsOverTheLimits => new()
    {
        { "line over 100,000 characters", l => { l["notes"] = new JsonArray([.. Enumerable.Range(0, 6).Select(_ => (JsonNode)new string('n', 19_000))]); return l; }, "at most 100,000" },
        { "attribute over 20,000 characters", l => { l["notes"] = new string('n', 20_001); return l; }, "attribute 'notes' has 20,001 characters" },
        { "gif image", l => { l["source-ref"] = l["source-ref"]!.GetValue<string>().Replace(".jpg", ".gif", StringComparison.Ordinal); return l; }, "is not a .jpg, .jpeg or .png image" },
        { "attribute name with $", l => { l["$meta"] = "x"; return l; }, "must not start with '$'" },
    };

    [Theory]
    [MemberData(nameof(InputsOverTheLimits))]
    public async Task CompleteJobAsync_ManifestLineOverTheInputLimits_FailsTheJobNamingTheLine(string what, Func<JsonObject, JsonObject> breakLine, string mentioned)
    {
        await _h.GivenInputAsync("job-limits", 3);
        var key = "jobs/input/job-limits/input.manifest";
        var lines = System.Text.Encoding.UTF8.GetString((await _h.Store.ReadBytesAsync(SimulatorHarness.Bucket, key))!).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines[1] = breakLine(JsonNode.Parse(lines[1])!.AsObject()).ToJsonString();
        await _h.Store.PutBytesAsync(SimulatorHarness.Bucket, key, System.Text.Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n"), "application/jsonlines");
        await _h.CallAsync("CreateLabelingJob", SimulatorHarness.ValidRequest("job-limits"));

        var status = await _h.Simulator.CompleteJobAsync("job-limits");
        var (_, body) = await _h.CallAsync("DescribeLabelingJob", new JsonObject { ["LabelingJobName"] = "job-limits" });

        Assert.True(status == SimulatedJobStatus.Failed, $"{what}: expected Failed, got {status}");
        var reason = body["FailureReason"]!.GetValue<string>();
        Assert.StartsWith("ClientError: input manifest line 2", reason, StringComparison.Ordinal);
        Assert.Contains(mentioned, reason, StringComparison.Ordinal);
        Assert.Null(body["LabelingJobOutput"]);
    }

    // The simulator moves a job on its own background task (after its stop delay), so the test polls for the state.
    private Task WaitForAsync(string job, SimulatedJobStatus status) =>
        Eventually.Until(() => _h.Simulator.StatusOf(job) == status, TimeSpan.FromSeconds(10), $"{job} reaching {status}", () => $"it is {_h.Simulator.StatusOf(job)}", TimeSpan.FromMilliseconds(20));
}

public sealed class GroundTruthSimulatorAutoAdvanceTests
{
    [Fact]
    public async Task AutoCompleteAfter_JobCreated_CompletesOnItsOwnAndEmitsCompleted()
    {
        await using var h = await SimulatorHarness.StartAsync(configure: o => o with { AutoCompleteAfter = TimeSpan.FromMilliseconds(200) });
        await h.GivenInputAsync("auto-job", 2);

        var (status, _) = await h.CallAsync("CreateLabelingJob", SimulatorHarness.ValidRequest("auto-job"));
        var evt = await h.EventArrived.Task.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(200, status);
        Assert.Equal(SimulatedJobStatus.Completed, h.Simulator.StatusOf("auto-job"));
        var change = EdgeLabeling.Labeling.Merge.JobStateChangeEvent.Parse(System.Text.Encoding.UTF8.GetBytes(evt));
        Assert.Equal(("auto-job", "Completed"), (change.JobName, change.Status));
    }
}
