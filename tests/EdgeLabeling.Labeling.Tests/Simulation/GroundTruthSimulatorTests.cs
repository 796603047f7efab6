using System.Text.Json.Nodes;
using EdgeLabeling.Simulation;

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
        { "required member", r => r.Remove("RoleArn"), "RoleArn is required" },
        { "required nested member", r => r["HumanTaskConfig"]!.AsObject().Remove("TaskTitle"), "TaskTitle is required" },
        { "name pattern", r => r["LabelingJobName"] = "bad_name", "LabelingJobName" },
        { "name length", r => r["LabelingJobName"] = new string('a', 64), "LabelingJobName" },
        { "title length", r => r["HumanTaskConfig"]!["TaskTitle"] = new string('t', 129), "TaskTitle" },
        { "keyword pattern", r => r["HumanTaskConfig"]!["TaskKeywords"] = new JsonArray("two  spaces"), "TaskKeywords" },
        { "workers range", r => r["HumanTaskConfig"]!["NumberOfHumanWorkersPerDataObject"] = 10, "NumberOfHumanWorkersPerDataObject" },
        { "task time limit", r => r["HumanTaskConfig"]!["TaskTimeLimitInSeconds"] = 28_801, "TaskTimeLimitInSeconds" },
        { "availability", r => r["HumanTaskConfig"]!["TaskAvailabilityLifetimeInSeconds"] = 2_592_001, "TaskAvailabilityLifetimeInSeconds" },
        { "enum", r => r["InputConfig"]!["DataAttributes"]!["ContentClassifiers"] = new JsonArray("FreeOfCats"), "ContentClassifiers" },
        { "attribute -ref", r => r["LabelAttributeName"] = "parts-ref", "-ref" },
        { "attribute -metadata", r => r["LabelAttributeName"] = "parts-metadata", "-metadata" },
        { "lambda of another region", r => r["HumanTaskConfig"]!["PreHumanTaskLambdaArn"] = "arn:aws:lambda:eu-west-1:568282634449:function:PRE-AdjustmentBoundingBox", "Region 'us-east-1'" },
        { "lambda of the wrong account", r => r["HumanTaskConfig"]!["AnnotationConsolidationConfig"]!["AnnotationConsolidationLambdaArn"] = "arn:aws:lambda:us-east-1:111111111111:function:ACS-AdjustmentBoundingBox", "432418664414" },
        { "lambda region not documented", r => r["HumanTaskConfig"]!["PreHumanTaskLambdaArn"] = "arn:aws:lambda:sa-east-1:432418664414:function:PRE-AdjustmentBoundingBox", "sa-east-1" },
        { "mismatched task types", r => r["HumanTaskConfig"]!["PreHumanTaskLambdaArn"] = "arn:aws:lambda:us-east-1:432418664414:function:PRE-BoundingBox", "ACS-" },
        { "s3 uri", r => r["OutputConfig"]!["S3OutputPath"] = "ftp://bucket/out", "S3OutputPath" },
        { "role arn", r => r["RoleArn"] = "arn:aws:iam::123:role/short", "RoleArn" },
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
        for (var i = 0; i < 500 && _h.Simulator.StatusOf("job-stop") != SimulatedJobStatus.Stopped; i++)
        {
            await Task.Delay(20);
        }

        Assert.Equal(200, status);
        Assert.Empty(body);
        Assert.True(right is SimulatedJobStatus.Stopping or SimulatedJobStatus.Stopped, $"right after the call: {right}");
        Assert.Equal(SimulatedJobStatus.Stopped, _h.Simulator.StatusOf("job-stop"));
        Assert.Contains("\"Stopped\"", _h.Events.Single(), StringComparison.Ordinal);
        Assert.Equal(SimulatedJobStatus.Stopped, await _h.Simulator.CompleteJobAsync("job-stop"));
    }
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
