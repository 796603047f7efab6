using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Labeling.SageMaker;
using EdgeLabeling.Review.BuiltIn;
using EdgeLabeling.Review.Tasks;
using EdgeLabeling.Review.Tests.Support;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Review.Tests.BuiltIn;

public sealed class BuiltInLabelingServiceTests : IDisposable
{
    private static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);
    private readonly TempDir _dir = new();
    private readonly ManualClock _clock = new(ReviewKit.T0);
    private readonly ConcurrentQueue<string> _events = new();
    private readonly FileSystemObjectStore _objects;
    private readonly BuiltInLabelingService _service;

    public BuiltInLabelingServiceTests()
    {
        _objects = new FileSystemObjectStore(_dir.File("store"));
        _service = new BuiltInLabelingService(new SqliteReviewTaskStore(_dir.File("review.db")), _objects,
            new CallbackJobStateChangePublisher((json, _) =>
            {
                _events.Enqueue(json);
                return Task.CompletedTask;
            }),
            new ReviewOptions { Region = "us-east-1", AccountId = "123456789012" }, _clock);
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private async Task GivenJobAsync(string job, int images, int availabilitySeconds = 259200, bool adjustment = true)
    {
        await ReviewKit.GivenInputAsync(_objects, job, images);
        await _service.CreateLabelingJobAsync(ReviewKit.Request(job, adjustment, availabilitySeconds));
    }

    /// <summary>A labeler leases the next task and submits <paramref name="answer"/> for it.</summary>
    private async Task<ReviewTask> LabelNextAsync(string job, string worker, Func<int, ReviewBox[]> answer)
    {
        var now = _clock.GetUtcNow();
        var t = await _service.Store.LeaseNextAsync(job, worker, now, now + Lease) ?? throw new InvalidOperationException("no open task");
        _clock.Advance(TimeSpan.FromSeconds(20));
        var r = await _service.Store.SubmitAsync(job, t.Index, worker, t.LeaseId!, _clock.GetUtcNow(), ReviewKit.Answer(answer(t.Index + 1)));
        Assert.Equal(TaskChange.Ok, r.Outcome);
        return r.Task!;
    }

    [Fact]
    public async Task CreateLabelingJob_BatcherRequest_MakesOneTaskPerImageInProgress()
    {
        await GivenJobAsync("job-create", 4);

        var d = await _service.DescribeLabelingJobAsync("job-create");

        Assert.Equal("InProgress", d.LabelingJobStatus);
        Assert.Equal("arn:aws:sagemaker:us-east-1:123456789012:labeling-job/job-create", d.LabelingJobArn);
        Assert.Equal(4, d.LabelCounters!.Unlabeled);
        Assert.Equal("parts-human", d.LabelAttributeName);
        Assert.Null(d.LabelingJobOutput);
        var job = await _service.Store.GetJobAsync("job-create");
        Assert.True(job!.Adjustment);
        Assert.Equal(ReviewKit.Classes, job.Categories);
        Assert.Equal(ReviewKit.T0.AddSeconds(259200), job.AvailableUntil);
    }

    [Fact]
    public async Task CreateLabelingJob_NameTakenIgnoringCase_ThrowsResourceInUse()
    {
        await GivenJobAsync("job-dup", 1);
        await ReviewKit.GivenInputAsync(_objects, "JOB-DUP", 1);

        var ex = await Assert.ThrowsAsync<SageMakerResourceInUseException>(() => _service.CreateLabelingJobAsync(ReviewKit.Request("JOB-DUP")));

        Assert.Contains("job-dup", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateLabelingJob_ManifestMissing_ThrowsValidationNamingIt()
    {
        await ReviewKit.GivenInputAsync(_objects, "job-none", 1);
        await _objects.DeleteAsync(ReviewKit.Bucket, "jobs/input/job-none/input.manifest");

        var ex = await Assert.ThrowsAsync<SageMakerValidationException>(() => _service.CreateLabelingJobAsync(ReviewKit.Request("job-none")));

        Assert.Contains("s3://data-bucket/jobs/input/job-none/input.manifest does not exist", ex.Message, StringComparison.Ordinal);
        Assert.Null(await _service.Store.GetJobAsync("job-none"));
    }

    [Fact]
    public async Task CompleteIfDone_EveryTaskSubmitted_WritesGroundTruthAdjustmentOutputAndEmitsCompleted()
    {
        await GivenJobAsync("job-done", 3);
        Assert.Equal("InProgress", await _service.CompleteIfDoneAsync("job-done"));

        // Image 1: the prior box left exactly as it was; image 2: the truth (two boxes); image 3: no objects.
        await LabelNextAsync("job-done", ReviewKit.Worker("alice"), i => [new ReviewBox("bolt", ReviewKit.Prior(i).Left, ReviewKit.Prior(i).Top, ReviewKit.Prior(i).Width, ReviewKit.Prior(i).Height)]);
        await LabelNextAsync("job-done", ReviewKit.Worker("bob"), ReviewKit.TruthAnswer);
        await LabelNextAsync("job-done", ReviewKit.Worker("alice"), _ => []);
        Assert.Empty(_events);

        Assert.Equal("Completed", await _service.CompleteIfDoneAsync("job-done"));

        var key = "jobs/output/job-done/manifests/output/output.manifest";
        var lines = Encoding.UTF8.GetString((await _objects.ReadBytesAsync(ReviewKit.Bucket, key))!).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        var parsed = lines.Select(l => GroundTruthManifest.Parse(l, "parts-human")).ToList();
        Assert.Equal([ReviewKit.SourceRef(1), ReviewKit.SourceRef(2), ReviewKit.SourceRef(3)], parsed.Select(p => p.SourceRef));
        Assert.All(parsed, p => Assert.True(p.HumanAnnotated));
        Assert.All(parsed, p => Assert.Equal(new ImageSize(640, 480), p.Size));
        Assert.Equal([new PixelBox(0, 13, 22, 30, 40, 0)], parsed[0].Boxes);
        Assert.Equal(ReviewKit.Truth(2), parsed[1].Boxes);
        Assert.Empty(parsed[2].Boxes);

        var meta = lines.Select(l => JsonNode.Parse(l)!["parts-human-metadata"]!.AsObject()).ToList();
        Assert.Equal(["unadjusted", "adjusted", "adjusted"], meta.Select(m => m["adjustment-status"]!.GetValue<string>()));
        Assert.All(meta, m => Assert.Equal("labeling-job/job-done", m["job-name"]!.GetValue<string>()));
        Assert.All(meta, m => Assert.Equal("groundtruth/object-detection", m["type"]!.GetValue<string>()));
        Assert.All(meta, m => Assert.Equal("yes", m["human-annotated"]!.GetValue<string>()));
        Assert.All(meta, m => Assert.Matches(new Regex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$"), m["creation-date"]!.GetValue<string>()));
        Assert.Equal("""{"0":"bolt","2":"washer"}""", meta[1]["class-map"]!.ToJsonString());
        Assert.Equal("""[{"confidence":0},{"confidence":0}]""", meta[1]["objects"]!.ToJsonString());
        Assert.Equal("{}", meta[2]["class-map"]!.ToJsonString());
        Assert.Equal("[]", meta[2]["objects"]!.ToJsonString());

        // The input line's keys pass through, as Ground Truth does.
        var first = JsonNode.Parse(lines[0])!.AsObject();
        Assert.Equal("uncertain-box", first["edge-reason"]!.GetValue<string>());
        Assert.NotNull(first["parts-model"]);
        Assert.NotNull(first["parts-model-metadata"]);

        // Who answered is in the worker-response file, as Ground Truth records it.
        var responses = await _objects.ListAsync(ReviewKit.Bucket, "jobs/output/job-done/annotations/worker-response/iteration-1/1/").ToListAsync();
        var response = JsonNode.Parse((await _objects.ReadBytesAsync(ReviewKit.Bucket, responses.Single().Key))!)!["answers"]![0]!;
        Assert.StartsWith("private.us-east-1.", response["workerId"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("bob", response["workerMetadata"]!["identityData"]!["sub"]!.GetValue<string>());
        Assert.Equal(2, response["answerContent"]!["boundingBox"]!["boundingBoxes"]!.AsArray().Count);

        var change = JobStateChangeEvent.Parse(Encoding.UTF8.GetBytes(_events.Single()));
        Assert.Equal(("job-done", "Completed"), (change.JobName, change.Status));
        var d = await _service.DescribeLabelingJobAsync("job-done");
        Assert.Equal("Completed", d.LabelingJobStatus);
        Assert.Equal($"s3://{ReviewKit.Bucket}/{key}", d.LabelingJobOutput!.OutputDatasetS3Uri);
        Assert.Equal(3, d.LabelCounters!.HumanLabeled);
        Assert.Equal(0, d.LabelCounters.Unlabeled);
    }

    [Fact]
    public async Task CompleteIfDone_PlainBoundingBoxJob_WritesNoAdjustmentStatus()
    {
        await GivenJobAsync("job-plain", 1, adjustment: false);
        await LabelNextAsync("job-plain", ReviewKit.Worker("alice"), ReviewKit.TruthAnswer);

        await _service.CompleteIfDoneAsync("job-plain");

        var line = Encoding.UTF8.GetString((await _objects.ReadBytesAsync(ReviewKit.Bucket, "jobs/output/job-plain/manifests/output/output.manifest"))!).Trim();
        Assert.Null(JsonNode.Parse(line)!["parts-human-metadata"]!["adjustment-status"]);
    }

    [Fact]
    public async Task CompleteIfDone_AvailabilityEnded_ExpiresOpenTasksAsFailedObjects()
    {
        await GivenJobAsync("job-late", 3, availabilitySeconds: 3600);
        await LabelNextAsync("job-late", ReviewKit.Worker("alice"), ReviewKit.TruthAnswer);
        var held = await _service.Store.LeaseNextAsync("job-late", ReviewKit.Worker("bob"), _clock.GetUtcNow(), _clock.GetUtcNow() + Lease);
        Assert.Equal("InProgress", await _service.CompleteIfDoneAsync("job-late"));

        _clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal([ "job-late" ], await _service.SweepAsync());

        var late = await _service.Store.SubmitAsync("job-late", held!.Index, ReviewKit.Worker("bob"), held.LeaseId!, _clock.GetUtcNow(), ReviewKit.Answer());
        Assert.Equal(TaskChange.TaskExpired, late.Outcome);
        var lines = Encoding.UTF8.GetString((await _objects.ReadBytesAsync(ReviewKit.Bucket, "jobs/output/job-late/manifests/output/output.manifest"))!).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.Single(lines, l => JsonNode.Parse(l)!["parts-human"] is not null);
        var failed = lines.Where(l => JsonNode.Parse(l)!["parts-human"] is null).Select(l => JsonNode.Parse(l)!["parts-human-metadata"]!).ToList();
        Assert.Equal(2, failed.Count);
        Assert.All(failed, m => Assert.Equal(GroundTruthOutputWriter.ExpiredReason, m["failure-reason"]!.GetValue<string>()));
        Assert.All(failed, m => Assert.Equal("labeling-job/job-late", m["job-name"]!.GetValue<string>()));
        Assert.All(lines.Where(l => JsonNode.Parse(l)!["parts-human"] is null), l => Assert.Throws<FormatException>(() => GroundTruthManifest.Parse(l, "parts-human")));
        var d = await _service.DescribeLabelingJobAsync("job-late");
        Assert.Equal((1, 2), (d.LabelCounters!.HumanLabeled, d.LabelCounters.FailedNonRetryableError));
    }

    [Fact]
    public async Task CompleteIfDone_RacingCallers_EmitOneEvent()
    {
        await GivenJobAsync("job-race", 2);
        await LabelNextAsync("job-race", ReviewKit.Worker("alice"), ReviewKit.TruthAnswer);
        await LabelNextAsync("job-race", ReviewKit.Worker("bob"), ReviewKit.TruthAnswer);

        var statuses = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Task.Run(() => _service.CompleteIfDoneAsync("job-race"))));

        Assert.All(statuses, s => Assert.Equal("Completed", s));
        Assert.Single(_events);
    }

    [Fact]
    public async Task StopLabelingJob_Running_ExpiresTasksAndEmitsStopped()
    {
        await GivenJobAsync("job-stop", 2);
        var t = await _service.Store.LeaseNextAsync("job-stop", ReviewKit.Worker("alice"), _clock.GetUtcNow(), _clock.GetUtcNow() + Lease);

        await _service.StopLabelingJobAsync("job-stop");
        await _service.StopLabelingJobAsync("job-stop");

        Assert.Equal("Stopped", JobStateChangeEvent.Parse(Encoding.UTF8.GetBytes(_events.Single())).Status);
        Assert.Equal(TaskChange.TaskExpired, (await _service.Store.SubmitAsync("job-stop", t!.Index, ReviewKit.Worker("alice"), t.LeaseId!, _clock.GetUtcNow(), ReviewKit.Answer())).Outcome);
        Assert.Equal("Stopped", (await _service.DescribeLabelingJobAsync("job-stop")).LabelingJobStatus);
    }

    [Fact]
    public async Task DescribeLabelingJob_Unknown_ThrowsResourceNotFound()
    {
        await Assert.ThrowsAsync<SageMakerResourceNotFoundException>(() => _service.DescribeLabelingJobAsync("nope"));
    }
}
