using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using EdgeLabeling.Review.Api;
using EdgeLabeling.Review.BuiltIn;
using EdgeLabeling.Review.Tasks;
using EdgeLabeling.Review.Tests.Support;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Review.Tests.Api;

/// <summary>The API core: every refusal with its own status and code, input checks, and the JWT rules.</summary>
public sealed class ReviewApiTests : IAsyncLifetime, IDisposable
{
    private const string Issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Test";
    private readonly TempDir _dir = new();
    private readonly ManualClock _clock = new(ReviewKit.T0);
    private readonly RSA _key = RSA.Create(2048);
    private readonly List<string> _events = [];
    private BuiltInLabelingService _service = null!;
    private ReviewApi _api = null!;
    private IReviewAuthenticator _auth = null!;

    public async Task InitializeAsync()
    {
        var objects = new FileSystemObjectStore(_dir.File("store"));
        _service = new BuiltInLabelingService(new SqliteReviewTaskStore(_dir.File("review.db")), objects,
            new CallbackJobStateChangePublisher((json, _) =>
            {
                _events.Add(json);
                return Task.CompletedTask;
            }), new ReviewOptions { AccountId = "123456789012" }, _clock);
        _api = new ReviewApi(_service, new HmacImageUrlSigner(RandomNumberGenerator.GetBytes(32)));
        _auth = new JwtAuthenticator(_key, Issuer);
        await ReviewKit.GivenInputAsync(objects, "job-a", 2);
        await _service.CreateLabelingJobAsync(ReviewKit.Request("job-a"));
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose()
    {
        _key.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    private string Jwt(string sub, string[] groups, DateTimeOffset? expires = null, RSA? signer = null, string issuer = Issuer)
    {
        static string B64(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var header = B64(Encoding.UTF8.GetBytes("""{"alg":"RS256","kid":"test"}"""));
        var claims = new JsonObject
        {
            ["sub"] = sub,
            ["iss"] = issuer,
            ["token_use"] = "id",
            ["cognito:username"] = sub + "-name",
            ["cognito:groups"] = new JsonArray([.. groups.Select(g => (JsonNode)JsonValue.Create(g))]),
            ["exp"] = (expires ?? _clock.GetUtcNow().AddHours(1)).ToUnixTimeSeconds(),
        };
        var payload = B64(Encoding.UTF8.GetBytes(claims.ToJsonString()));
        var sig = (signer ?? _key).SignData(Encoding.ASCII.GetBytes(header + "." + payload), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return $"Bearer {header}.{payload}.{B64(sig)}";
    }

    private Task<ApiResponse> Call(string method, string path, string? authorization, JsonObject? body = null) =>
        _api.HandleAsync(new ApiRequest(method, path, _auth.Authenticate(authorization, _clock.GetUtcNow()), body is null ? default : Encoding.UTF8.GetBytes(body.ToJsonString())));

    private string Alice => Jwt("alice", ["labelers"]);
    private string Bob => Jwt("bob", ["labelers"]);

    private async Task<JsonObject> LeaseAsync(string who)
    {
        var r = await Call("POST", "/api/jobs/job-a/lease", who);
        Assert.Equal(200, r.Status);
        return r.Body!;
    }

    private static JsonObject Submit(string leaseId, params (string Label, double Left, double Top, double Width, double Height)[] boxes) => new()
    {
        ["leaseId"] = leaseId,
        ["boxes"] = new JsonArray([.. boxes.Select(b => (JsonNode)new JsonObject { ["label"] = b.Label, ["left"] = b.Left, ["top"] = b.Top, ["width"] = b.Width, ["height"] = b.Height })]),
    };

    private static void AssertError(ApiResponse r, int status, string code, string? messagePart = null)
    {
        Assert.Equal(status, r.Status);
        Assert.Equal(code, r.Body!["error"]!.GetValue<string>());
        if (messagePart is not null)
        {
            Assert.Contains(messagePart, r.Body["message"]!.GetValue<string>(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Lease_LabelerWithValidJwt_GetsTaskWithImageUrlPriorBoxesAndCategories()
    {
        var t = await LeaseAsync(Alice);

        Assert.Equal("job-a", t["job"]!.GetValue<string>());
        Assert.Equal(0, t["index"]!.GetValue<int>());
        Assert.Matches("^[0-9a-f]{32}$", t["leaseId"]!.GetValue<string>());
        Assert.StartsWith("/images/job-a/0?exp=", t["imageUrl"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("""["bolt","nut","washer"]""", t["categories"]!.ToJsonString());
        var prior = Assert.Single(t["priorBoxes"]!.AsArray())!;
        Assert.Equal(("bolt", 13.0, 22.0), (prior["label"]!.GetValue<string>(), prior["left"]!.GetValue<double>(), prior["top"]!.GetValue<double>()));
        Assert.Equal(640, t["imageSize"]!["width"]!.GetValue<int>());
        Assert.Equal(ReviewKit.T0.AddMinutes(5), DateTimeOffset.Parse(t["leaseExpiresAt"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Any_NoAuthorization_Is401Unauthenticated()
    {
        AssertError(await Call("GET", "/api/jobs", null), 401, "unauthenticated", "sign in");
    }

    [Fact]
    public async Task Any_ExpiredJwtSignedByTrustedKey_Is401TokenExpired()
    {
        var expired = Jwt("alice", ["labelers"], _clock.GetUtcNow().AddMinutes(-10));

        AssertError(await Call("GET", "/api/jobs", expired), 401, "token-expired", "expired");
    }

    [Fact]
    public async Task Any_JwtSignedByUntrustedKey_Is401TokenInvalid()
    {
        using var other = RSA.Create(2048);

        AssertError(await Call("GET", "/api/jobs", Jwt("alice", ["labelers"], signer: other)), 401, "token-invalid", "signature");
    }

    [Fact]
    public async Task Any_JwtFromAnotherIssuer_Is401TokenInvalid()
    {
        AssertError(await Call("GET", "/api/jobs", Jwt("alice", ["labelers"], issuer: "https://evil.example")), 401, "token-invalid", "issuer");
    }

    [Fact]
    public async Task Any_SignedInButNotALabeler_Is403NotALabeler()
    {
        AssertError(await Call("POST", "/api/jobs/job-a/lease", Jwt("mallory", ["admins"])), 403, "not-a-labeler", "'mallory-name'");
        AssertError(await Call("GET", "/api/jobs", Jwt("nobody", [])), 403, "not-a-labeler");
    }

    [Fact]
    public async Task Submit_OnSomeoneElsesLease_Is409LeaseHeldByAnother()
    {
        var t = await LeaseAsync(Alice);

        var r = await Call("POST", "/api/jobs/job-a/tasks/0/submit", Bob, Submit(t["leaseId"]!.GetValue<string>(), ("bolt", 1, 1, 10, 10)));

        AssertError(r, 409, "lease-held-by-another");
        AssertError(await Call("POST", "/api/jobs/job-a/tasks/0/heartbeat", Bob, new JsonObject { ["leaseId"] = t["leaseId"]!.GetValue<string>() }), 409, "lease-held-by-another");
        AssertError(await Call("GET", "/api/jobs/job-a/tasks/0?lease=" + t["leaseId"], Bob), 409, "lease-held-by-another");
    }

    [Fact]
    public async Task Submit_AfterLeaseExpired_Is410WithAClearMessage()
    {
        var t = await LeaseAsync(Alice);
        _clock.Advance(TimeSpan.FromMinutes(6));

        var r = await Call("POST", "/api/jobs/job-a/tasks/0/submit", Alice, Submit(t["leaseId"]!.GetValue<string>(), ("bolt", 1, 1, 10, 10)));

        AssertError(r, 410, "lease-expired", "your answer was not saved");
    }

    [Fact]
    public async Task Submit_Twice_SecondIs409AlreadySubmitted()
    {
        var t = await LeaseAsync(Alice);
        var body = Submit(t["leaseId"]!.GetValue<string>(), ("bolt", 1, 1, 10, 10));

        Assert.Equal(200, (await Call("POST", "/api/jobs/job-a/tasks/0/submit", Alice, body)).Status);
        AssertError(await Call("POST", "/api/jobs/job-a/tasks/0/submit", Alice, body), 409, "already-submitted");
    }

    [Fact]
    public async Task Heartbeat_ExtendsTheLeaseButNotPastTheTaskTimeLimit()
    {
        var t = await LeaseAsync(Alice);
        var lease = t["leaseId"]!.GetValue<string>();
        var ends = new List<DateTimeOffset>();
        for (var i = 0; i < 4; i++)
        {
            _clock.Advance(TimeSpan.FromMinutes(4));
            var r = await Call("POST", "/api/jobs/job-a/tasks/0/heartbeat", Alice, new JsonObject { ["leaseId"] = lease });
            if (r.Status != 200)
            {
                AssertError(r, 410, "lease-expired");
                break;
            }

            ends.Add(DateTimeOffset.Parse(r.Body!["leaseExpiresAt"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture));
        }

        // 600 s task time limit from acceptance: 4 min + 5 min, then capped at 10 min, then gone.
        Assert.Equal([ReviewKit.T0.AddMinutes(9), ReviewKit.T0.AddMinutes(10)], ends);
    }

    [Fact]
    public async Task Submit_LastTask_CompletesTheJob()
    {
        for (var i = 0; i < 2; i++)
        {
            var t = await LeaseAsync(i == 0 ? Alice : Bob);
            var r = await Call("POST", $"/api/jobs/job-a/tasks/{t["index"]}/submit", i == 0 ? Alice : Bob, new JsonObject { ["leaseId"] = t["leaseId"]!.GetValue<string>(), ["boxes"] = new JsonArray(), ["noObjects"] = true });
            Assert.Equal(i == 0 ? "InProgress" : "Completed", r.Body!["jobStatus"]!.GetValue<string>());
        }

        Assert.Single(_events);
        AssertError(await Call("POST", "/api/jobs/job-a/lease", Alice), 410, "job-closed");
    }

    [Fact]
    public async Task ListJobs_ShowsProgress()
    {
        await LeaseAsync(Alice);

        var r = await Call("GET", "/api/jobs", Alice);

        var job = Assert.Single(r.Body!["jobs"]!.AsArray())!;
        Assert.Equal(("job-a", 2, 1, 0, 1), (job["name"]!.GetValue<string>(), job["total"]!.GetValue<int>(), job["leased"]!.GetValue<int>(), job["submitted"]!.GetValue<int>(), job["open"]!.GetValue<int>() - 1));
    }

    [Theory]
    [InlineData("/api/jobs/..%2F..%2Fetc/lease", "job name")]
    [InlineData("/api/jobs/../lease", "job name")]
    [InlineData("/api/jobs/job_a/lease", "job name")]
    [InlineData("/api/jobs/-job/lease", "job name")]
    [InlineData("/api/jobs/job-a/tasks/..%2F1/submit", "task index")]
    [InlineData("/api/jobs/job-a/tasks/01/submit", "task index")]
    [InlineData("/api/jobs/job-a/tasks/-1/submit", "task index")]
    [InlineData("/api/jobs/job-a/tasks/99999999/submit", "task index")]
    public async Task Path_TraversalOrMalformedIds_Are400(string path, string what)
    {
        var r = await Call("POST", path, Alice, new JsonObject { ["leaseId"] = new string('a', 32), ["boxes"] = new JsonArray(), ["noObjects"] = true });

        AssertError(r, 400, "malformed-request", what);
    }

    [Fact]
    public async Task Path_UnknownRouteOrMethod_Are404And405()
    {
        AssertError(await Call("GET", "/api/../../etc/passwd", Alice), 404, "not-found");
        AssertError(await Call("DELETE", "/api/jobs", Alice), 405, "method-not-allowed");
        AssertError(await Call("POST", "/api/jobs/job-b/lease", Alice), 404, "job-not-found");
        AssertError(await Call("GET", "/api/jobs/job-a/tasks/7?lease=" + new string('a', 32), Alice), 404, "task-not-found");
    }

    public static TheoryData<string, string> BadAnswers => new()
    {
        { """{"leaseId":"@","boxes":[{"label":"bolt","left":630,"top":10,"width":20,"height":10}]}""", "not inside the 640×480 image" },
        { """{"leaseId":"@","boxes":[{"label":"bolt","left":-5,"top":10,"width":20,"height":10}]}""", "not inside" },
        { """{"leaseId":"@","boxes":[{"label":"bolt","left":5,"top":10,"width":0.5,"height":10}]}""", "at least 1×1" },
        { """{"leaseId":"@","boxes":[{"label":"<img src=x onerror=alert(1)>","left":5,"top":10,"width":20,"height":10}]}""", "not one of the job's labels" },
        { """{"leaseId":"@","boxes":[{"label":"bolt","left":"5","top":10,"width":20,"height":10}]}""", "finite number 'left'" },
        { """{"leaseId":"@","boxes":[]}""", "noObjects: true" },
        { """{"leaseId":"@","boxes":[{"label":"bolt","left":5,"top":10,"width":20,"height":10}],"noObjects":true}""", "noObjects is true but boxes are drawn" },
        { """{"leaseId":"not-a-lease","boxes":[]}""", "leaseId must be" },
        { """{"leaseId":"@"}""", "boxes must be a list" },
        { """[1,2]""", "JSON object" },
        { """{"leaseId":""", "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(BadAnswers))]
    public async Task Submit_MalformedAnswer_Is400NamingTheProblemAndKeepsTheLease(string body, string messagePart)
    {
        var t = await LeaseAsync(Alice);
        var json = body.Replace("@", t["leaseId"]!.GetValue<string>(), StringComparison.Ordinal);

        var r = await _api.HandleAsync(new ApiRequest("POST", "/api/jobs/job-a/tasks/0/submit", _auth.Authenticate(Alice, _clock.GetUtcNow()), Encoding.UTF8.GetBytes(json)));

        AssertError(r, 400, "malformed-request", messagePart);
        Assert.Equal(ReviewTaskState.Leased, (await _service.Store.GetTaskAsync("job-a", 0))!.State);
    }

    [Fact]
    public async Task Submit_TooManyBoxesOrTooLargeBody_AreRefused()
    {
        var t = await LeaseAsync(Alice);
        var many = Submit(t["leaseId"]!.GetValue<string>(), [.. Enumerable.Range(0, ReviewApi.MaxBoxes + 1).Select(_ => ("bolt", 1.0, 1.0, 10.0, 10.0))]);
        AssertError(await Call("POST", "/api/jobs/job-a/tasks/0/submit", Alice, many), 400, "malformed-request", "more than the 200");

        var huge = new byte[ReviewApi.MaxBodyBytes + 1];
        var r = await _api.HandleAsync(new ApiRequest("POST", "/api/jobs/job-a/tasks/0/submit", _auth.Authenticate(Alice, _clock.GetUtcNow()), huge));
        AssertError(r, 413, "body-too-large");
    }

    [Fact]
    public void LocalToken_WrongOrMissing_AreRefusedAndRightOneIsALabeler()
    {
        var local = new LocalTokenAuthenticator("secret-token");

        Assert.Equal("unauthenticated", local.Authenticate(null, ReviewKit.T0).Code);
        Assert.Equal("token-invalid", local.Authenticate("Bearer other", ReviewKit.T0).Code);
        Assert.Equal(["labelers"], local.Authenticate("Bearer secret-token", ReviewKit.T0).Caller!.Groups);
    }

    [Fact]
    public async Task ImageUrl_VerifiesOnlyForItsImageAndUntilItExpires()
    {
        var signer = new HmacImageUrlSigner(RandomNumberGenerator.GetBytes(32));
        var job = (await _service.Store.GetJobAsync("job-a"))!;
        var task = (await _service.Store.GetTaskAsync("job-a", 0))!;
        var url = await signer.SignAsync(job, task, ReviewKit.T0.AddMinutes(15));
        var q = System.Web.HttpUtility.ParseQueryString(url.Split('?')[1]);

        Assert.True(signer.Verify("job-a", 0, q["exp"], q["sig"], ReviewKit.T0));
        Assert.False(signer.Verify("job-a", 1, q["exp"], q["sig"], ReviewKit.T0));
        Assert.False(signer.Verify("job-a", 0, q["exp"], q["sig"], ReviewKit.T0.AddMinutes(16)));
        Assert.False(signer.Verify("job-a", 0, (long.Parse(q["exp"]!, System.Globalization.CultureInfo.InvariantCulture) + 3600).ToString(System.Globalization.CultureInfo.InvariantCulture), q["sig"], ReviewKit.T0));
    }
}
