using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Amazon.SQS;
using Amazon.SQS.Model;
using EdgeLabeling.Contracts;
using EdgeLabeling.Labeling;
using EdgeLabeling.Labeling.Merge;
using EdgeLabeling.Labeling.SageMaker;
using EdgeLabeling.Lambdas;
using EdgeLabeling.Review.Api;
using EdgeLabeling.Review.BuiltIn;
using EdgeLabeling.Review.Tasks;
using EdgeLabeling.Review.Tests.Support;
using EdgeLabeling.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace EdgeLabeling.Review.Tests.Lambda;

/// <summary>
/// The deployed adapters of the built-in backend: the review API handler over HTTP API payload 2.0 events as API
/// Gateway sends them after its JWT authorizer, the sweep handler publishing to the merge queue, and the Lambda
/// composition that puts the built-in backend behind the batcher and the merge.
/// </summary>
public sealed class ReviewLambdaTests : IAsyncLifetime, IDisposable
{
    private const string Issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Test";
    private const string QueueUrl = "https://sqs.eu-west-1.amazonaws.com/123456789012/merge";
    private readonly TempDir _dir = new();
    private readonly ManualClock _clock = new(ReviewKit.T0);
    private readonly RecordingSqs _sqs = new();
    private BuiltInLabelingService _service = null!;
    private ReviewApiFunction _function = null!;

    public async Task InitializeAsync()
    {
        var objects = new FileSystemObjectStore(_dir.File("store"));
        _service = new BuiltInLabelingService(new SqliteReviewTaskStore(_dir.File("review.db")), objects,
            new SqsJobStateChangePublisher(_sqs, QueueUrl), new ReviewOptions { AccountId = "123456789012", Region = "eu-west-1" }, _clock);
        _function = new ReviewApiFunction(new ReviewApi(_service, new HmacImageUrlSigner(RandomNumberGenerator.GetBytes(32))));
        await ReviewKit.GivenInputAsync(objects, "job-a", 1);
        await _service.CreateLabelingJobAsync(ReviewKit.Request("job-a", availabilitySeconds: 3600));
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    /// <summary>An HTTP API payload 2.0 event; claims as the JWT authorizer passes them (every value a string).</summary>
    private static string Event(string method, string path, Dictionary<string, string>? claims, string? body = null, bool base64 = false, string query = "")
    {
        var e = new JsonObject
        {
            ["version"] = "2.0",
            ["routeKey"] = $"{method} {path}",
            ["rawPath"] = path,
            ["rawQueryString"] = query,
            ["headers"] = new JsonObject { ["content-type"] = "application/json" },
            ["requestContext"] = new JsonObject
            {
                ["http"] = new JsonObject { ["method"] = method, ["path"] = path },
                ["authorizer"] = claims is null ? null : new JsonObject
                {
                    ["jwt"] = new JsonObject
                    {
                        ["claims"] = new JsonObject([.. claims.Select(c => KeyValuePair.Create(c.Key, (JsonNode?)JsonValue.Create(c.Value)))]),
                        ["scopes"] = new JsonArray("openid"),
                    },
                },
            },
            ["isBase64Encoded"] = base64,
        };
        if (body is not null)
        {
            e["body"] = base64 ? Convert.ToBase64String(Encoding.UTF8.GetBytes(body)) : body;
        }

        return e.ToJsonString();
    }

    private static Dictionary<string, string> Claims(string sub, string groups) => new()
    {
        ["sub"] = sub,
        ["iss"] = Issuer,
        ["cognito:username"] = sub + "-name",
        ["cognito:groups"] = groups,
        ["client_id"] = "pageclient",
        ["token_use"] = "access",
    };

    private async Task<JsonObject> InvokeAsync(string eventJson)
    {
        await using var output = await _function.HandleAsync(new MemoryStream(Encoding.UTF8.GetBytes(eventJson)));
        return JsonNode.Parse(output)!.AsObject();
    }

    private static JsonObject BodyOf(JsonObject response) => JsonNode.Parse(response["body"]!.GetValue<string>())!.AsObject();

    [Fact]
    public async Task HandleAsync_LabelerClaimsFromTheAuthorizer_LeasesAndAnswersNoStoreJson()
    {
        var response = await InvokeAsync(Event("POST", "/api/jobs/job-a/lease", Claims("alice", "[labelers]")));

        Assert.Equal(200, response["statusCode"]!.GetValue<int>());
        Assert.Equal("no-store", response["headers"]!["cache-control"]!.GetValue<string>());
        Assert.StartsWith("application/json", response["headers"]!["content-type"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.False(response["isBase64Encoded"]!.GetValue<bool>());
        var task = BodyOf(response);
        Assert.Equal("job-a", task["job"]!.GetValue<string>());
        Assert.Matches("^[0-9a-f]{32}$", task["leaseId"]!.GetValue<string>());
        var stored = await _service.Store.GetTaskAsync("job-a", 0);
        Assert.Equal(ReviewWorkerId.Format("Cognito", Issuer, "alice"), stored!.LeaseOwner);
    }

    [Theory]
    [InlineData("[admins viewers]")]
    [InlineData("")]
    [InlineData("[labelers-old]")]
    public async Task HandleAsync_GroupsWithoutLabelers_Is403NotALabeler(string groups)
    {
        var response = await InvokeAsync(Event("GET", "/api/jobs", Claims("mallory", groups)));

        Assert.Equal(403, response["statusCode"]!.GetValue<int>());
        Assert.Equal("not-a-labeler", BodyOf(response)["error"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("[admins labelers]")]
    [InlineData("[\"admins\",\"labelers\"]")]
    [InlineData("labelers")]
    public async Task HandleAsync_GroupsClaimRenderings_LabelersAreServed(string groups)
    {
        var response = await InvokeAsync(Event("GET", "/api/jobs", Claims("alice", groups)));

        Assert.Equal(200, response["statusCode"]!.GetValue<int>());
        Assert.Equal("job-a", BodyOf(response)["jobs"]![0]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task HandleAsync_NoAuthorizerClaims_Is401InsteadOfTrusted()
    {
        var response = await InvokeAsync(Event("GET", "/api/jobs", claims: null));

        Assert.Equal(401, response["statusCode"]!.GetValue<int>());
        Assert.Equal("unauthenticated", BodyOf(response)["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task HandleAsync_SomeoneElsesLease_Is409AndTheLeaseStaysTheirs()
    {
        var leaseId = BodyOf(await InvokeAsync(Event("POST", "/api/jobs/job-a/lease", Claims("alice", "[labelers]"))))["leaseId"]!.GetValue<string>();

        var response = await InvokeAsync(Event("POST", "/api/jobs/job-a/tasks/0/heartbeat", Claims("bob", "[labelers]"), $$"""{"leaseId":"{{leaseId}}"}"""));

        Assert.Equal(409, response["statusCode"]!.GetValue<int>());
        Assert.Equal(ReviewWorkerId.Format("Cognito", Issuer, "alice"), (await _service.Store.GetTaskAsync("job-a", 0))!.LeaseOwner);
    }

    [Fact]
    public async Task HandleAsync_Base64BodySubmitOfTheLastTask_CompletesTheJobAndSendsItsEventToTheMergeQueue()
    {
        var leaseId = BodyOf(await InvokeAsync(Event("POST", "/api/jobs/job-a/lease", Claims("alice", "[labelers]"))))["leaseId"]!.GetValue<string>();
        var submit = $$"""{"leaseId":"{{leaseId}}","boxes":[{"label":"nut","left":10,"top":20,"width":30,"height":40}]}""";

        var response = await InvokeAsync(Event("POST", "/api/jobs/job-a/tasks/0/submit", Claims("alice", "[labelers]"), submit, base64: true));

        Assert.Equal(200, response["statusCode"]!.GetValue<int>());
        Assert.Equal(ReviewJobStatus.Completed, BodyOf(response)["jobStatus"]!.GetValue<string>());
        var sent = Assert.Single(_sqs.Sent);
        Assert.Equal(QueueUrl, sent.QueueUrl);
        var change = JobStateChangeEvent.Parse(Encoding.UTF8.GetBytes(sent.MessageBody));
        Assert.Equal(("job-a", "Completed"), (change.JobName, change.Status));
        Assert.Equal("arn:aws:sagemaker:eu-west-1:123456789012:labeling-job/job-a", change.JobArn);
    }

    [Theory]
    [InlineData("{}")]
    [InlineData("not json")]
    [InlineData("""{"rawPath":"/api/jobs","requestContext":{}}""")]
    public async Task HandleAsync_NotAnHttpApiEvent_Is400MalformedRequest(string payload)
    {
        var response = await InvokeAsync(payload);

        Assert.Equal(400, response["statusCode"]!.GetValue<int>());
        Assert.Equal("malformed-request", BodyOf(response)["error"]!.GetValue<string>());
        Assert.Empty(_sqs.Sent);
    }

    [Fact]
    public async Task HandleAsync_BodyNotBase64_Is400NamingBase64()
    {
        var e = JsonNode.Parse(Event("POST", "/api/jobs/job-a/tasks/0/release", Claims("alice", "[labelers]"), "x"))!.AsObject();
        e["body"] = "%%% not base64";
        e["isBase64Encoded"] = true;

        var response = await InvokeAsync(e.ToJsonString());

        Assert.Equal(400, response["statusCode"]!.GetValue<int>());
        Assert.Contains("base64", BodyOf(response)["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HandleAsync_PathTraversalInJobId_Is400AndReadsNothing()
    {
        var response = await InvokeAsync(Event("GET", "/api/jobs/..%2F..%2Fetc/tasks/0", Claims("alice", "[labelers]"), query: "lease=00000000000000000000000000000000"));

        Assert.Equal(400, response["statusCode"]!.GetValue<int>());
        Assert.Equal("malformed-request", BodyOf(response)["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task Sweep_AvailabilityEnded_CompletesTheJobAndSendsTheEventToTheMergeQueue()
    {
        var sweep = new ReviewSweepFunction(_service);
        await using (var before = await sweep.HandleAsync(new MemoryStream()))
        {
            Assert.Equal("[]", JsonNode.Parse(before)!["completedJobs"]!.ToJsonString());
        }

        _clock.Advance(TimeSpan.FromHours(2));
        await using var output = await sweep.HandleAsync(new MemoryStream(Encoding.UTF8.GetBytes("""{"detail-type":"Scheduled Event"}""")));

        Assert.Equal("""["job-a"]""", JsonNode.Parse(output)!["completedJobs"]!.ToJsonString());
        var change = JobStateChangeEvent.Parse(Encoding.UTF8.GetBytes(Assert.Single(_sqs.Sent).MessageBody));
        Assert.Equal(("job-a", "Completed"), (change.JobName, change.Status));
    }

    // --- Settings and composition -------------------------------------------------------------

    private static Func<string, string?> Env(params (string Name, string Value)[] values)
    {
        var map = values.ToDictionary(v => v.Name, v => v.Value, StringComparer.Ordinal);
        return name => map.GetValueOrDefault(name);
    }

    [Fact]
    public void Settings_WithoutReviewTable_FailNamingTheVariable()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => BuiltInBackendSettings.FromEnvironment(Env((LambdaEnvironment.AccountId, "123456789012"))));

        Assert.Contains(LambdaEnvironment.ReviewTableName, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("12345")]
    [InlineData("12345678901x")]
    public void Settings_BadAccountId_FailNamingTheVariable(string account)
    {
        var ex = Assert.Throws<InvalidOperationException>(() => BuiltInBackendSettings.FromEnvironment(Env((LambdaEnvironment.ReviewTableName, "tasks"), (LambdaEnvironment.AccountId, account))));

        Assert.Contains(LambdaEnvironment.AccountId, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Settings_PublisherWithoutMergeQueue_FailNamingTheVariable()
    {
        var env = Env((LambdaEnvironment.ReviewTableName, "tasks"), (LambdaEnvironment.AccountId, "123456789012"));

        Assert.Null(BuiltInBackendSettings.FromEnvironment(env).MergeQueueUrl);
        var ex = Assert.Throws<InvalidOperationException>(() => BuiltInBackendSettings.FromEnvironment(env, publishes: true));
        Assert.Contains(LambdaEnvironment.MergeQueueUrl, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Composition_BuiltInBackend_PutsTheBuiltInServiceBehindTheBatcherOverDynamoDb()
    {
        var options = new LabelingOptions { Backend = LabelingBackends.BuiltIn, Region = "eu-west-1", DataBucket = "data", TableName = "pending" };
        var env = Env((LambdaEnvironment.ReviewTableName, "tasks"), (LambdaEnvironment.AccountId, "123456789012"), (LambdaEnvironment.Region, "eu-west-1"));

        using var provider = new ServiceCollection().AddLabelingBackend(options, LambdaFunctions.Batch.Name, env).AddLabeling(options).BuildServiceProvider();

        var service = Assert.IsType<BuiltInLabelingService>(provider.GetRequiredService<ISageMakerClient>());
        var store = Assert.IsType<DynamoDbReviewTaskStore>(service.Store);
        Assert.Equal("tasks", store.TableName);
        Assert.Equal("123456789012", service.Options.AccountId);
    }

    [Fact]
    public async Task Composition_BatchFunctionsPublisher_RefusesLoudlyNamingWhoPublishes()
    {
        var publisher = new NotPublishingJobStateChangePublisher(LambdaFunctions.Batch.Name);

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => publisher.PublishAsync("{}"));
        Assert.Contains(LambdaFunctions.ReviewSweep.Name, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Composition_GroundTruthBackend_LeavesTheSageMakerClient()
    {
        var options = new LabelingOptions { Backend = LabelingBackends.GroundTruth, Region = "eu-west-1", DataBucket = "data", TableName = "pending" };

        using var provider = new ServiceCollection().AddLabelingBackend(options, LambdaFunctions.Batch.Name, Env()).AddLabeling(options).BuildServiceProvider();

        Assert.IsType<SageMakerJsonClient>(provider.GetRequiredService<ISageMakerClient>());
    }

    /// <summary>
    /// The batch and merge functions are separate Lambdas: the batcher's composition creates a built-in job in
    /// the DynamoDB task table (dynalite here, through the same settings and client the function builds), and the
    /// merge's composition, a separate provider, describes it from there.
    /// </summary>
    [Fact]
    [Trait("Category", "Integration")]
    public async Task Composition_BuiltIn_BatcherCreatesTheJobInDynamoDbAndTheMergeDescribesIt()
    {
        var table = await Dynalite.CreateTaskTableAsync();
        try
        {
            var root = _dir.File("objects");
            await ReviewKit.GivenInputAsync(new FileSystemObjectStore(root), "job-dyn", 3);
            var options = new LabelingOptions { Backend = LabelingBackends.BuiltIn, Region = "us-east-1", DataBucket = ReviewKit.Bucket, LocalStoreRoot = root, PendingDbPath = _dir.File("pending.db") };
            var env = Env((LambdaEnvironment.ReviewTableName, table), (LambdaEnvironment.AccountId, "123456789012"), (LambdaEnvironment.Region, "us-east-1"),
                (LambdaEnvironment.DynamoDbEndpoint, Dynalite.Endpoint));

            using (var batch = new ServiceCollection().AddLabelingBackend(options, LambdaFunctions.Batch.Name, env).AddLabeling(options).BuildServiceProvider())
            {
                var created = await batch.GetRequiredService<ISageMakerClient>().CreateLabelingJobAsync(ReviewKit.Request("job-dyn"));
                Assert.Equal("arn:aws:sagemaker:us-east-1:123456789012:labeling-job/job-dyn", created.LabelingJobArn);
            }

            using var merge = new ServiceCollection().AddLabelingBackend(options, LambdaFunctions.Merge.Name, env).AddLabeling(options).BuildServiceProvider();
            var described = await merge.GetRequiredService<ISageMakerClient>().DescribeLabelingJobAsync("job-dyn");
            Assert.Equal(("InProgress", 3), (described.LabelingJobStatus, described.LabelCounters!.Unlabeled));
            Assert.Equal("s3://data-bucket/jobs/output/", described.OutputConfig!.S3OutputPath);
        }
        finally
        {
            await Dynalite.DeleteTableAsync(table);
        }
    }

    /// <summary>Records SendMessage calls instead of calling SQS (the client's methods are virtual).</summary>
    private sealed class RecordingSqs() : AmazonSQSClient(new Amazon.Runtime.BasicAWSCredentials("test", "test"), new AmazonSQSConfig { RegionEndpoint = Amazon.RegionEndpoint.EUWest1 })
    {
        public List<SendMessageRequest> Sent { get; } = [];

        public override Task<SendMessageResponse> SendMessageAsync(SendMessageRequest request, CancellationToken cancellationToken = default)
        {
            Sent.Add(request);
            return Task.FromResult(new SendMessageResponse { MessageId = Guid.NewGuid().ToString() });
        }
    }
}
