using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeLabeling.Cli.Review;
using EdgeLabeling.Contracts;
using EdgeLabeling.Review.BuiltIn;
using EdgeLabeling.Review.Tasks;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Cli.Tests;

/// <summary>The local review server over HTTP: loopback only, headers, sign-in, signed image links.</summary>
public sealed class ReviewServerTests : IAsyncLifetime
{
    private const string Issuer = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Local";
    private readonly TempDir _root = new("review-server-");
    private readonly RSA _key = RSA.Create(2048);
    private ReviewServer _server = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        var objects = new FileSystemObjectStore(_root.File("store"));
        var line = GroundTruthManifest.BuildLine("s3://incoming/incoming/cam/1.png", "parts-model", new ImageSize(8, 8), [], ["bolt"], false, "labeling-job/edge-auto-cam", DateTimeOffset.UnixEpoch);
        await objects.PutBytesAsync("incoming", "incoming/cam/1.png", new byte[] { 0x89, 0x50, 0x4E, 0x47, 1, 2, 3 }, "image/png");
        await objects.PutBytesAsync("data", "jobs/input/job-a/input.manifest", Encoding.UTF8.GetBytes(line.ToJsonString() + "\n"), "application/jsonlines");
        await objects.PutBytesAsync("data", "jobs/input/job-a/cats.json", JsonSerializer.SerializeToUtf8Bytes(LabelCategoryConfig.FromClassNames(["bolt"]), ContractsJsonContext.Default.LabelCategoryConfig), "application/json");
        var backend = new BuiltInLabelingService(new SqliteReviewTaskStore(_root.File("review.db")), objects, new CallbackJobStateChangePublisher((_, _) => Task.CompletedTask), new ReviewOptions());
        await backend.CreateLabelingJobAsync(new Labeling.SageMaker.CreateLabelingJobRequest
        {
            LabelingJobName = "job-a",
            LabelAttributeName = "parts-human",
            InputConfig = new() { DataSource = new() { S3DataSource = new() { ManifestS3Uri = "s3://data/jobs/input/job-a/input.manifest" } } },
            OutputConfig = new() { S3OutputPath = "s3://data/jobs/output/" },
            RoleArn = "arn:aws:iam::123456789012:role/GroundTruthRole",
            LabelCategoryConfigS3Uri = "s3://data/jobs/input/job-a/cats.json",
            HumanTaskConfig = new()
            {
                WorkteamArn = "arn:aws:sagemaker:us-east-1:123456789012:workteam/private-crowd/team",
                UiConfig = new() { UiTemplateS3Uri = "s3://data/jobs/input/job-a/t.html" },
                PreHumanTaskLambdaArn = "arn:aws:lambda:us-east-1:432418664414:function:PRE-BoundingBox",
                TaskTitle = "t",
                TaskDescription = "d",
                NumberOfHumanWorkersPerDataObject = 1,
                TaskTimeLimitInSeconds = 600,
                TaskAvailabilityLifetimeInSeconds = 3600,
                AnnotationConsolidationConfig = new() { AnnotationConsolidationLambdaArn = "arn:aws:lambda:us-east-1:432418664414:function:ACS-BoundingBox" },
            },
        });
        var web = _root.Sub("web");
        await File.WriteAllTextAsync(Path.Combine(web, "index.html"), "<!doctype html><title>review</title>");
        _server = await ReviewServer.StartAsync(backend, objects, new ReviewServerOptions { WebRoot = web, Token = "tok-123", TrustedJwt = (_key, Issuer) }, CancellationToken.None);
        _http = new HttpClient { BaseAddress = _server.BaseAddress };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
        _key.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        _root.Dispose();
    }

    private HttpRequestMessage Api(HttpMethod method, string path, string? bearer = "tok-123")
    {
        var m = new HttpRequestMessage(method, path);
        if (bearer is not null)
        {
            m.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        return m;
    }

    [Fact]
    public async Task Start_ListensOnLoopbackAndPrintsTheTokenInTheFragment()
    {
        Assert.Equal("127.0.0.1", _server.BaseAddress.Host);
        Assert.Equal("#token=tok-123", _server.ReviewUrl.Fragment);
        using var page = await _http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<title>review</title>", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(ReviewServer.ContentSecurityPolicy, page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());
    }

    [Fact]
    public async Task Request_WithForeignHostHeader_Is421()
    {
        using var m = Api(HttpMethod.Get, "/api/jobs");
        m.Headers.Host = "evil.example:" + _server.BaseAddress.Port;

        using var r = await _http.SendAsync(m);

        Assert.Equal(HttpStatusCode.MisdirectedRequest, r.StatusCode);
    }

    [Fact]
    public async Task Api_TokenMissingWrongOrRight_Is401401Or200()
    {
        using var none = await _http.SendAsync(Api(HttpMethod.Get, "/api/jobs", null));
        using var wrong = await _http.SendAsync(Api(HttpMethod.Get, "/api/jobs", "tok-999"));
        using var right = await _http.SendAsync(Api(HttpMethod.Get, "/api/jobs"));

        Assert.Equal((HttpStatusCode.Unauthorized, "unauthenticated"), (none.StatusCode, JsonNode.Parse(await none.Content.ReadAsStringAsync())!["error"]!.GetValue<string>()));
        Assert.Equal((HttpStatusCode.Unauthorized, "token-invalid"), (wrong.StatusCode, JsonNode.Parse(await wrong.Content.ReadAsStringAsync())!["error"]!.GetValue<string>()));
        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        Assert.Equal("no-store", right.Headers.CacheControl!.ToString());
    }

    [Fact]
    public async Task Api_ExpiredJwtSignedByTheTrustedKey_Is401TokenExpired()
    {
        static string B64(byte[] b) => Convert.ToBase64String(b).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var head = B64("""{"alg":"RS256"}"""u8.ToArray());
        var body = B64(Encoding.UTF8.GetBytes(new JsonObject { ["sub"] = "alice", ["iss"] = Issuer, ["cognito:groups"] = new JsonArray("labelers"), ["exp"] = DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds() }.ToJsonString()));
        var jwt = $"{head}.{body}.{B64(_key.SignData(Encoding.ASCII.GetBytes(head + "." + body), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))}";

        using var r = await _http.SendAsync(Api(HttpMethod.Get, "/api/jobs", jwt));

        Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        Assert.Equal("token-expired", JsonNode.Parse(await r.Content.ReadAsStringAsync())!["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task Image_SignedLinkServesTheTaskImageAndTamperedLinksAre403()
    {
        using var lease = await _http.SendAsync(Api(HttpMethod.Post, "/api/jobs/job-a/lease"));
        var url = JsonNode.Parse(await lease.Content.ReadAsStringAsync())!["imageUrl"]!.GetValue<string>();

        using var ok = await _http.GetAsync(url);
        using var tampered = await _http.GetAsync(url.Replace("/0?", "/1?", StringComparison.Ordinal));
        using var traversal = await _http.GetAsync("/images/..%2F..%2Fetc/0?exp=99999999999&sig=00");
        using var unsigned = await _http.GetAsync("/images/job-a/0");

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal("image/png", ok.Content.Headers.ContentType!.MediaType);
        Assert.Equal(7, (await ok.Content.ReadAsByteArrayAsync()).Length);
        Assert.Equal(HttpStatusCode.Forbidden, tampered.StatusCode);
        Assert.NotEqual(HttpStatusCode.OK, traversal.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, unsigned.StatusCode);
    }

    [Fact]
    public async Task Api_PathTraversalInJobId_Is400()
    {
        using var r = await _http.SendAsync(Api(HttpMethod.Post, "/api/jobs/..%2F..%2Fetc/lease"));

        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Equal("malformed-request", JsonNode.Parse(await r.Content.ReadAsStringAsync())!["error"]!.GetValue<string>());
    }

    [Fact]
    public void ReviewCommand_WithoutATaskStore_ExitsTwoNamingWhatToRun()
    {
        var (exit, _, stderr) = CliRunner.Run("review", "--output", _root.File("nothing-here"));

        Assert.Equal(2, exit);
        Assert.Contains("edgelabel pipeline --labelers people", stderr, StringComparison.Ordinal);
    }
}
