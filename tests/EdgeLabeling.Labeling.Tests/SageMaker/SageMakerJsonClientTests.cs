using System.Net;
using System.Text;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.Runtime.Internal.Auth;
using EdgeLabeling.Labeling.SageMaker;
using EdgeLabeling.Labeling.Tests.Support;

namespace EdgeLabeling.Labeling.Tests.SageMaker;

public class SageMakerJsonClientTests
{
    private static readonly SigningCredentials Creds = new("AKIDTEST", "test/secret+key", "session-token");

    /// <summary>Answers like SageMaker and checks every request's protocol headers and signature.</summary>
    private sealed class ServiceHandler(Func<string, JsonElement, (HttpStatusCode Status, string Body)> respond) : HttpMessageHandler
    {
        public List<string> Operations { get; } = [];

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Assert.Equal(HttpMethod.Post, request.Method);
            Assert.Equal("/", request.RequestUri!.AbsolutePath);
            Assert.Equal("application/x-amz-json-1.1", request.Content!.Headers.ContentType!.ToString());
            var target = request.Headers.GetValues("X-Amz-Target").Single();
            Assert.StartsWith("SageMaker.", target, StringComparison.Ordinal);
            Assert.Equal("session-token", request.Headers.GetValues("X-Amz-Security-Token").Single());
            var body = await request.Content.ReadAsByteArrayAsync(cancellationToken);
            VerifySignature(request, target, body);
            var op = target["SageMaker.".Length..];
            Operations.Add(op);
            var (status, json) = respond(op, JsonDocument.Parse(body).RootElement.Clone());
            var response = new HttpResponseMessage(status) { Content = new StringContent(json, Encoding.UTF8) };
            response.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-amz-json-1.1");
            response.Headers.Add("x-amzn-RequestId", "req-1");
            return response;
        }

        private static void VerifySignature(HttpRequestMessage request, string target, byte[] body)
        {
            // Rebuild the canonical request from what went over the wire and sign it with the SDK's signer.
            var auth = request.Headers.GetValues("Authorization").Single();
            var amzDate = request.Headers.GetValues("X-Amz-Date").Single();
            var host = request.RequestUri!.IsDefaultPort ? request.RequestUri.Host : $"{request.RequestUri.Host}:{request.RequestUri.Port}";
            var canonical = $"POST\n/\n\ncontent-type:application/x-amz-json-1.1\nhost:{host}\nx-amz-date:{amzDate}\nx-amz-security-token:session-token\nx-amz-target:{target}\n\n"
                + $"content-type;host;x-amz-date;x-amz-security-token;x-amz-target\n{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(body))}";
            var at = DateTime.ParseExact(amzDate, "yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal);
            var expected = AWS4Signer.ComputeSignature(new ImmutableCredentials(Creds.AccessKey, Creds.SecretKey, Creds.SessionToken), "eu-west-1", at, "sagemaker",
                "content-type;host;x-amz-date;x-amz-security-token;x-amz-target", canonical);
            Assert.Equal($"AWS4-HMAC-SHA256 Credential=AKIDTEST/{amzDate[..8]}/eu-west-1/sagemaker/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, Signature={expected.Signature}", auth);
        }
    }

    private static (SageMakerJsonClient Client, ServiceHandler Handler) Create(Func<string, JsonElement, (HttpStatusCode, string)> respond, int maxAttempts = 3)
    {
        var handler = new ServiceHandler(respond);
        var client = new SageMakerJsonClient(new HttpClient(handler),
            new SageMakerClientOptions { Region = "eu-west-1", Endpoint = new Uri($"http://127.0.0.1:{FreePort.Next()}/"), MaxAttempts = maxAttempts, BaseRetryDelay = TimeSpan.FromMilliseconds(1) },
            new StaticCredentialsSource(Creds), new ManualTime(Fixtures.Start));
        return (client, handler);
    }

    [Fact]
    public async Task CreateLabelingJobAsync_Success_ReturnsArnAndSendsWireBody()
    {
        JsonElement sent = default;
        var (client, handler) = Create((_, body) =>
        {
            sent = body;
            return (HttpStatusCode.OK, """{"LabelingJobArn":"arn:aws:sagemaker:eu-west-1:123456789012:labeling-job/edgelabel-20261126t060000-0a1b2c3d"}""");
        });

        var r = await client.CreateLabelingJobAsync(CreateLabelingJobValidatorTests.Valid());

        Assert.EndsWith("labeling-job/edgelabel-20261126t060000-0a1b2c3d", r.LabelingJobArn, StringComparison.Ordinal);
        Assert.Equal(["CreateLabelingJob"], handler.Operations);
        Assert.Equal("parts-human", sent.GetProperty("LabelAttributeName").GetString());
        Assert.Equal(1, sent.GetProperty("HumanTaskConfig").GetProperty("NumberOfHumanWorkersPerDataObject").GetInt32());
    }

    [Fact]
    public async Task DescribeLabelingJobAsync_EpochTimestamps_ParseToUtc()
    {
        var (client, _) = Create((_, body) =>
        {
            Assert.Equal("job-1", body.GetProperty("LabelingJobName").GetString());
            return (HttpStatusCode.OK, """{"LabelingJobName":"job-1","LabelingJobStatus":"Completed","CreationTime":1764136800.125,"LastModifiedTime":1764140400,"LabelCounters":{"TotalLabeled":3,"HumanLabeled":3},"LabelingJobOutput":{"OutputDatasetS3Uri":"s3://d/jobs/output/job-1/manifests/output/output.manifest"}}""");
        });

        var d = await client.DescribeLabelingJobAsync("job-1");

        Assert.Equal("Completed", d.LabelingJobStatus);
        Assert.Equal(new DateTimeOffset(2025, 11, 26, 6, 0, 0, 125, TimeSpan.Zero), d.CreationTime);
        Assert.Equal(new DateTimeOffset(2025, 11, 26, 7, 0, 0, TimeSpan.Zero), d.LastModifiedTime);
        Assert.Equal(3, d.LabelCounters!.HumanLabeled);
        Assert.Null(d.LabelCounters.Unlabeled);
    }

    [Theory]
    [InlineData("ResourceInUse", typeof(SageMakerResourceInUseException))]
    [InlineData("com.amazonaws.sagemaker#ResourceNotFound", typeof(SageMakerResourceNotFoundException))]
    [InlineData("ResourceLimitExceeded:http://internal.amazon.com/coral/", typeof(SageMakerResourceLimitExceededException))]
    [InlineData("ValidationException", typeof(SageMakerValidationException))]
    public async Task Errors_ModeledTypes_MapToTypedExceptions(string type, Type expected)
    {
        var (client, handler) = Create((_, _) => (HttpStatusCode.BadRequest, $$"""{"__type":"{{type}}","Message":"it went wrong"}"""));

        var ex = await Assert.ThrowsAnyAsync<SageMakerException>(() => client.DescribeLabelingJobAsync("job-1"));

        Assert.IsType(expected, ex);
        Assert.Equal("it went wrong", ex.ServiceMessage);
        Assert.Equal("req-1", ex.RequestId);
        Assert.Single(handler.Operations);
    }

    [Fact]
    public async Task Errors_Throttling_IsRetriedThenSucceeds()
    {
        var calls = 0;
        var (client, handler) = Create((_, _) => ++calls < 3
            ? (HttpStatusCode.BadRequest, """{"__type":"ThrottlingException","message":"Rate exceeded"}""")
            : (HttpStatusCode.OK, """{"LabelingJobSummaryList":[{"LabelingJobName":"a","CreationTime":1764136800}],"NextToken":"n"}"""));

        var list = await client.ListLabelingJobsAsync(new ListLabelingJobsRequest { MaxResults = 10, SortOrder = "Ascending" });

        Assert.Equal(3, handler.Operations.Count);
        Assert.Equal("a", Assert.Single(list.LabelingJobSummaryList!).LabelingJobName);
        Assert.Equal("n", list.NextToken);
    }

    [Fact]
    public async Task Errors_ThrottlingBeyondAttempts_ThrowsThrottling()
    {
        var (client, handler) = Create((_, _) => (HttpStatusCode.BadRequest, """{"__type":"ThrottlingException","message":"Rate exceeded"}"""), maxAttempts: 2);

        await Assert.ThrowsAsync<SageMakerThrottlingException>(() => client.StopLabelingJobAsync("job-1"));

        Assert.Equal(2, handler.Operations.Count);
    }

    [Fact]
    public async Task StopLabelingJobAsync_EmptyBody_Succeeds()
    {
        var (client, handler) = Create((_, body) =>
        {
            Assert.Equal("job-1", body.GetProperty("LabelingJobName").GetString());
            return (HttpStatusCode.OK, "");
        });

        await client.StopLabelingJobAsync("job-1");

        Assert.Equal(["StopLabelingJob"], handler.Operations);
    }

    [Fact]
    public async Task Errors_NonJsonServerError_KeepsStatusAndBodyStart()
    {
        var (client, _) = Create((_, _) => (HttpStatusCode.BadGateway, "<html>bad gateway</html>"), maxAttempts: 1);

        var ex = await Assert.ThrowsAsync<SageMakerException>(() => client.DescribeLabelingJobAsync("job-1"));

        Assert.Equal(HttpStatusCode.BadGateway, ex.StatusCode);
        Assert.Contains("bad gateway", ex.ServiceMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void ResolveEndpoint_NoOverride_IsRegionalApiEndpoint()
    {
        Assert.Equal(new Uri("https://api.sagemaker.ap-south-1.amazonaws.com/"), new SageMakerClientOptions { Region = "ap-south-1" }.ResolveEndpoint());
    }
}
