using EdgeLabeling.Contracts;
using EdgeLabeling.Review.Tasks;
using EdgeLabeling.Review.Tests.Support;

namespace EdgeLabeling.Review.Tests.Tasks;

/// <summary>What every task store must do; run against SQLite (unit) and DynamoDB (dynalite, integration).</summary>
public abstract class ReviewTaskStoreContract : IAsyncLifetime
{
    protected static readonly DateTimeOffset Now = ReviewKit.T0;
    protected static readonly TimeSpan Lease = TimeSpan.FromMinutes(5);
    protected static readonly string Alice = ReviewKit.Worker("alice");
    protected static readonly string Bob = ReviewKit.Worker("bob");

    protected IReviewTaskStore Store { get; private set; } = null!;

    protected abstract Task<IReviewTaskStore> CreateStoreAsync();

    /// <summary>Another handle on the same data (another process, another Lambda instance).</summary>
    protected abstract IReviewTaskStore OpenAnother();

    protected virtual Task DeleteStoreAsync() => Task.CompletedTask;

    public async Task InitializeAsync() => Store = await CreateStoreAsync();

    public Task DisposeAsync() => DeleteStoreAsync();

    protected static ReviewJob Job(string name, int tasks) => new()
    {
        Name = name,
        Arn = $"arn:aws:sagemaker:us-east-1:123456789012:labeling-job/{name}",
        LabelAttributeName = "parts-human",
        OutputPath = "s3://data-bucket/jobs/output/",
        InputManifestUri = $"s3://data-bucket/jobs/input/{name}/input.manifest",
        Categories = ReviewKit.Classes,
        Adjustment = true,
        TaskTimeLimitSeconds = 600,
        AvailableUntil = Now.AddDays(3),
        CreatedAt = Now,
        LastModifiedAt = Now,
        TaskCount = tasks,
        RequestJson = "{}",
    };

    protected static IReadOnlyList<ReviewTask> Tasks(string name, int count) =>
        [.. Enumerable.Range(0, count).Select(i => new ReviewTask { JobKey = name.ToLowerInvariant(), Index = i, SourceRef = ReviewKit.SourceRef(i + 1), InputLine = ReviewKit.InputLine(i + 1), ImageSize = new ImageSize(640, 480) })];

    protected async Task GivenJobAsync(string name = "job-a", int tasks = 3) =>
        Assert.True(await Store.TryCreateJobAsync(Job(name, tasks), Tasks(name, tasks)));

    [Fact]
    public async Task TryCreateJob_SameNameOtherCase_IsRefused()
    {
        await GivenJobAsync("Job-A");

        Assert.False(await Store.TryCreateJobAsync(Job("job-a", 1), Tasks("job-a", 1)));
        var job = await Store.GetJobAsync("JOB-A");
        Assert.Equal("Job-A", job!.Name);
        Assert.Equal(ReviewJobStatus.InProgress, job.Status);
        Assert.Equal(new ReviewJobProgress(3, 3, 0, 0, 0), await Store.GetProgressAsync("job-a", Now));
    }

    [Fact]
    public async Task LeaseNext_TwoLabelers_GetDifferentTasks()
    {
        await GivenJobAsync();

        var a = await Store.LeaseNextAsync("job-a", Alice, Now, Now + Lease);
        var b = await Store.LeaseNextAsync("job-a", Bob, Now, Now + Lease);

        Assert.NotNull(a);
        Assert.NotNull(b);
        Assert.NotEqual(a.Index, b.Index);
        Assert.Equal(Alice, a.LeaseOwner);
        Assert.Equal(Now + Lease, a.LeaseExpiresAt);
        Assert.Equal(32, a.LeaseId!.Length);
        Assert.Equal(new ReviewJobProgress(3, 1, 2, 0, 0), await Store.GetProgressAsync("job-a", Now));
    }

    [Fact]
    public async Task LeaseNext_LabelerWithLiveLease_GetsTheSameTaskBack()
    {
        await GivenJobAsync();

        var first = await Store.LeaseNextAsync("job-a", Alice, Now, Now + Lease);
        var again = await Store.LeaseNextAsync("job-a", Alice, Now.AddSeconds(5), Now.AddSeconds(5) + Lease);

        Assert.Equal(first!.Index, again!.Index);
        Assert.Equal(first.LeaseId, again.LeaseId);
    }

    [Fact]
    public async Task LeaseNext_NothingOpen_ReturnsNull()
    {
        await GivenJobAsync(tasks: 1);
        var a = await Store.LeaseNextAsync("job-a", Alice, Now, Now + Lease);

        Assert.Null(await Store.LeaseNextAsync("job-a", Bob, Now, Now + Lease));
        Assert.Equal(TaskChange.Ok, (await Store.SubmitAsync("job-a", a!.Index, Alice, a.LeaseId!, Now, ReviewKit.Answer())).Outcome);
        Assert.Null(await Store.LeaseNextAsync("job-a", Bob, Now.AddHours(1), Now.AddHours(1) + Lease));
    }

    [Fact]
    public async Task LeaseNext_AfterLeaseTimedOut_GivesTheTaskToSomeoneElse()
    {
        await GivenJobAsync(tasks: 1);
        var a = await Store.LeaseNextAsync("job-a", Alice, Now, Now + Lease);
        Assert.Null(await Store.LeaseNextAsync("job-a", Bob, Now + Lease - TimeSpan.FromSeconds(1), Now + Lease + Lease));

        var later = Now + Lease + TimeSpan.FromSeconds(1);
        var b = await Store.LeaseNextAsync("job-a", Bob, later, later + Lease);

        Assert.Equal(a!.Index, b!.Index);
        Assert.Equal(Bob, b.LeaseOwner);
        Assert.NotEqual(a.LeaseId, b.LeaseId);
    }

    [Fact]
    public async Task Submit_WithLiveLease_StoresTheAnswerOnce()
    {
        await GivenJobAsync();
        var a = await Store.LeaseNextAsync("job-a", Alice, Now, Now + Lease);
        var answer = ReviewKit.Answer(new ReviewBox("bolt", 1, 2, 3, 4));

        var first = await Store.SubmitAsync("job-a", a!.Index, Alice, a.LeaseId!, Now.AddSeconds(30), answer);
        var second = await Store.SubmitAsync("job-a", a.Index, Alice, a.LeaseId!, Now.AddSeconds(31), ReviewKit.Answer());

        Assert.Equal(TaskChange.Ok, first.Outcome);
        Assert.Equal(ReviewTaskState.Submitted, first.Task!.State);
        Assert.Equal(TaskChange.AlreadySubmitted, second.Outcome);
        var stored = await Store.GetTaskAsync("job-a", a.Index);
        Assert.Equal(answer, stored!.Answer);
        Assert.Equal(Alice, stored.SubmittedBy);
        Assert.Equal(Now.AddSeconds(30), stored.SubmittedAt);
    }

    [Fact]
    public async Task Submit_AfterLeaseExpired_IsRefusedAsLeaseExpired()
    {
        await GivenJobAsync();
        var a = await Store.LeaseNextAsync("job-a", Alice, Now, Now + Lease);

        var late = await Store.SubmitAsync("job-a", a!.Index, Alice, a.LeaseId!, Now + Lease, ReviewKit.Answer());

        Assert.Equal(TaskChange.LeaseExpired, late.Outcome);
        Assert.Equal(ReviewTaskState.Leased, (await Store.GetTaskAsync("job-a", a.Index))!.State);
        Assert.Null((await Store.GetTaskAsync("job-a", a.Index))!.Answer);
    }

    [Fact]
    public async Task Submit_AfterExpiryWhenSomeoneElseTookTheTask_IsRefusedAndKeepsTheirLease()
    {
        await GivenJobAsync(tasks: 1);
        var a = await Store.LeaseNextAsync("job-a", Alice, Now, Now + Lease);
        var later = Now + Lease + TimeSpan.FromSeconds(1);
        var b = await Store.LeaseNextAsync("job-a", Bob, later, later + Lease);

        var late = await Store.SubmitAsync("job-a", a!.Index, Alice, a.LeaseId!, later, ReviewKit.Answer());
        var bobs = await Store.SubmitAsync("job-a", b!.Index, Bob, b.LeaseId!, later.AddSeconds(1), ReviewKit.Answer());

        Assert.Equal(TaskChange.LeasedByAnother, late.Outcome);
        Assert.Equal(TaskChange.Ok, bobs.Outcome);
        Assert.Equal(Bob, (await Store.GetTaskAsync("job-a", 0))!.SubmittedBy);
    }

    [Fact]
    public async Task Submit_OnSomeoneElsesLease_IsRefused()
    {
        await GivenJobAsync();
        var a = await Store.LeaseNextAsync("job-a", Alice, Now, Now + Lease);

        var stolenId = await Store.SubmitAsync("job-a", a!.Index, Bob, a.LeaseId!, Now, ReviewKit.Answer());
        var guessed = await Store.SubmitAsync("job-a", a.Index, Bob, new string('0', 32), Now, ReviewKit.Answer());

        Assert.Equal(TaskChange.LeasedByAnother, stolenId.Outcome);
        Assert.Equal(TaskChange.LeasedByAnother, guessed.Outcome);
        Assert.Equal(ReviewTaskState.Leased, (await Store.GetTaskAsync("job-a", a.Index))!.State);
    }

    [Fact]
    public async Task Heartbeat_KeepsTheLeaseAlivePastItsFirstExpiry()
    {
        await GivenJobAsync(tasks: 1);
        var a = await Store.LeaseNextAsync("job-a", Alice, Now, Now + Lease);
        var beat = Now + Lease - TimeSpan.FromSeconds(10);

        var hb = await Store.HeartbeatAsync("job-a", a!.Index, Alice, a.LeaseId!, beat, beat + Lease);
        var pastFirst = Now + Lease + TimeSpan.FromSeconds(30);

        Assert.Equal(TaskChange.Ok, hb.Outcome);
        Assert.Equal(beat + Lease, hb.Task!.LeaseExpiresAt);
        Assert.Null(await Store.LeaseNextAsync("job-a", Bob, pastFirst, pastFirst + Lease));
        Assert.Equal(TaskChange.Ok, (await Store.SubmitAsync("job-a", a.Index, Alice, a.LeaseId!, pastFirst, ReviewKit.Answer())).Outcome);
    }

    [Fact]
    public async Task Heartbeat_AfterExpiry_IsRefused()
    {
        await GivenJobAsync(tasks: 1);
        var a = await Store.LeaseNextAsync("job-a", Alice, Now, Now + Lease);
        var late = Now + Lease + TimeSpan.FromSeconds(1);

        var hb = await Store.HeartbeatAsync("job-a", a!.Index, Alice, a.LeaseId!, late, late + Lease);

        Assert.Equal(TaskChange.LeaseExpired, hb.Outcome);
    }

    [Fact]
    public async Task Release_PutsTheTaskBackForTheNextLabeler()
    {
        await GivenJobAsync(tasks: 1);
        var a = await Store.LeaseNextAsync("job-a", Alice, Now, Now + Lease);

        Assert.Equal(TaskChange.LeasedByAnother, (await Store.ReleaseAsync("job-a", a!.Index, Bob, a.LeaseId!, Now)).Outcome);
        Assert.Equal(TaskChange.Ok, (await Store.ReleaseAsync("job-a", a.Index, Alice, a.LeaseId!, Now)).Outcome);
        var b = await Store.LeaseNextAsync("job-a", Bob, Now.AddSeconds(1), Now.AddSeconds(1) + Lease);

        Assert.Equal(a.Index, b!.Index);
        Assert.Equal(TaskChange.LeasedByAnother, (await Store.SubmitAsync("job-a", a.Index, Alice, a.LeaseId!, Now.AddSeconds(2), ReviewKit.Answer())).Outcome);
    }

    [Fact]
    public async Task ExpireOpenTasks_KeepsSubmittedOnesAndClosesTheRest()
    {
        await GivenJobAsync(tasks: 3);
        var a = await Store.LeaseNextAsync("job-a", Alice, Now, Now + Lease);
        await Store.SubmitAsync("job-a", a!.Index, Alice, a.LeaseId!, Now, ReviewKit.Answer());
        var b = await Store.LeaseNextAsync("job-a", Bob, Now, Now + Lease);
        Assert.True(await Store.HasOpenTasksAsync("job-a"));

        Assert.Equal(2, await Store.ExpireOpenTasksAsync("job-a"));

        Assert.False(await Store.HasOpenTasksAsync("job-a"));
        Assert.Equal(new ReviewJobProgress(3, 0, 0, 1, 2), await Store.GetProgressAsync("job-a", Now));
        Assert.Equal(TaskChange.TaskExpired, (await Store.SubmitAsync("job-a", b!.Index, Bob, b.LeaseId!, Now, ReviewKit.Answer())).Outcome);
        Assert.Null(await Store.LeaseNextAsync("job-a", Bob, Now, Now + Lease));
    }

    [Fact]
    public async Task TryUpdateJob_FromAStatusItIsNoLongerIn_IsRefused()
    {
        await GivenJobAsync();
        var job = (await Store.GetJobAsync("job-a"))!;

        Assert.True(await Store.TryUpdateJobAsync(job with { Status = ReviewJobStatus.Completed, OutputManifestUri = "s3://x/y" }, ReviewJobStatus.InProgress));
        Assert.False(await Store.TryUpdateJobAsync(job with { Status = ReviewJobStatus.Completed }, ReviewJobStatus.InProgress));
        Assert.Equal("s3://x/y", (await Store.GetJobAsync("job-a"))!.OutputManifestUri);
        Assert.Single(await Store.ListJobsAsync());
    }

    [Fact]
    public async Task ListTasks_ReturnsInputOrder()
    {
        await GivenJobAsync(tasks: 12);

        var tasks = new List<ReviewTask>();
        await foreach (var t in Store.ListTasksAsync("job-a"))
        {
            tasks.Add(t);
        }

        Assert.Equal(Enumerable.Range(0, 12), tasks.Select(t => t.Index));
        Assert.Equal(ReviewKit.SourceRef(12), tasks[^1].SourceRef);
        Assert.Equal(new ImageSize(640, 480), tasks[0].ImageSize);
    }

    [Fact]
    public async Task RacingLabelers_EveryTaskIsSubmittedExactlyOnce()
    {
        const int count = 30;
        await GivenJobAsync(tasks: count);
        var workers = Enumerable.Range(0, 5).Select(i => ReviewKit.Worker("labeler-" + i)).ToArray();
        var submitted = new System.Collections.Concurrent.ConcurrentBag<(int Index, string Worker)>();

        await Task.WhenAll(workers.Select(w => Task.Run(async () =>
        {
            var store = OpenAnother();
            while (await store.LeaseNextAsync("job-a", w, Now, Now + Lease) is { } t)
            {
                // Every labeler also tries to submit a task it does not hold: it must never land.
                var other = (t.Index + 1) % count;
                var stolen = await store.SubmitAsync("job-a", other, w, t.LeaseId!, Now, ReviewKit.Answer());
                Assert.NotEqual(TaskChange.Ok, stolen.Outcome);
                var r = await store.SubmitAsync("job-a", t.Index, w, t.LeaseId!, Now, ReviewKit.Answer());
                Assert.Equal(TaskChange.Ok, r.Outcome);
                submitted.Add((t.Index, w));
            }
        })));

        Assert.Equal(Enumerable.Range(0, count), submitted.Select(s => s.Index).Order());
        Assert.Equal(new ReviewJobProgress(count, 0, 0, count, 0), await Store.GetProgressAsync("job-a", Now));
        await foreach (var t in Store.ListTasksAsync("job-a"))
        {
            Assert.Equal(submitted.Single(s => s.Index == t.Index).Worker, t.SubmittedBy);
        }
    }
}

public sealed class SqliteReviewTaskStoreTests : ReviewTaskStoreContract
{
    private readonly TempDir _dir = new();

    protected override Task<IReviewTaskStore> CreateStoreAsync() => Task.FromResult<IReviewTaskStore>(new SqliteReviewTaskStore(_dir.File("review.db")));

    protected override IReviewTaskStore OpenAnother() => new SqliteReviewTaskStore(_dir.File("review.db"));

    protected override Task DeleteStoreAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
        return Task.CompletedTask;
    }
}

[Trait("Category", "Integration")]
public sealed class DynamoDbReviewTaskStoreTests : ReviewTaskStoreContract
{
    private readonly List<Amazon.DynamoDBv2.AmazonDynamoDBClient> _clients = [];
    private string _table = "";

    protected override async Task<IReviewTaskStore> CreateStoreAsync()
    {
        _table = await Dynalite.CreateTaskTableAsync();
        return OpenAnother();
    }

    protected override IReviewTaskStore OpenAnother()
    {
        var c = Dynalite.Client();
        lock (_clients)
        {
            _clients.Add(c);
        }

        return new DynamoDbReviewTaskStore(c, _table);
    }

    protected override async Task DeleteStoreAsync()
    {
        if (_table.Length > 0)
        {
            await Dynalite.DeleteTableAsync(_table);
        }

        foreach (var c in _clients)
        {
            c.Dispose();
        }
    }
}
