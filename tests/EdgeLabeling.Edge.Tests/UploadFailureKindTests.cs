using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using EdgeLabeling.Edge.Upload;

namespace EdgeLabeling.Edge.Tests;

/// <summary>Which failures set one item aside and which pause the whole link.</summary>
public sealed class UploadFailureKindTests
{
    private static AmazonS3Exception S3(HttpStatusCode status, string code) => new(code, ErrorType.Sender, code, "req", status);

    [Theory]
    [InlineData(HttpStatusCode.Forbidden, "AccessDenied", "access-denied", true)]
    [InlineData(HttpStatusCode.Forbidden, "InvalidAccessKeyId", "bad-credentials", false)]
    [InlineData(HttpStatusCode.Forbidden, "ExpiredToken", "bad-credentials", false)]
    [InlineData(HttpStatusCode.Forbidden, "RequestTimeTooSkewed", "clock-skew", false)]
    [InlineData(HttpStatusCode.Forbidden, "Forbidden", "forbidden", false)]
    [InlineData(HttpStatusCode.Forbidden, "", "forbidden", false)]
    [InlineData(HttpStatusCode.NotFound, "NoSuchBucket", "bucket-missing", false)]
    [InlineData(HttpStatusCode.BadRequest, "BadDigest", "rejected", true)]
    [InlineData(HttpStatusCode.BadRequest, "EntityTooLarge", "rejected", true)]
    [InlineData(HttpStatusCode.TooManyRequests, "SlowDown", "server-error", false)]
    [InlineData(HttpStatusCode.ServiceUnavailable, "SlowDown", "server-error", false)]
    [InlineData(HttpStatusCode.InternalServerError, "InternalError", "server-error", false)]
    public void Classify_S3Answer_GivesKindAndScope(HttpStatusCode status, string code, string kind, bool itemOnly)
    {
        var actual = UploadWorker.Classify(S3(status, code));
        Assert.Equal(kind, actual);
        Assert.Equal(itemOnly, UploadWorker.ConcernsItemOnly(actual));
    }

    [Fact]
    public void Classify_LocalAndNetworkFailures_SeparatesMissingBlobFromLinkErrors()
    {
        Assert.Equal("blob-missing", UploadWorker.Classify(new FileNotFoundException("gone", "/q/blobs/p0-x.jpg")));
        Assert.Equal("network", UploadWorker.Classify(new HttpRequestException("connection refused")));
        Assert.Equal("network", UploadWorker.Classify(new IOException("broken pipe")));
        Assert.Equal("timeout", UploadWorker.Classify(new TaskCanceledException("timed out")));
        Assert.Equal("credentials-unavailable", UploadWorker.Classify(new AmazonClientException("Unable to retrieve credentials from the container endpoint")));
        Assert.True(UploadWorker.ConcernsItemOnly("blob-missing"));
        Assert.False(UploadWorker.ConcernsItemOnly("network"));
        Assert.False(UploadWorker.ConcernsItemOnly("credentials-unavailable"));
        Assert.True(UploadWorker.ConcernsItemOnly(UploadWorker.Classify(new InvalidOperationException("unexpected"))));
    }

    [Fact]
    public void ItemDeferral_DoublesFromThirtySecondsAndStopsAtOneHour()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), UploadWorker.ItemDeferral(0));
        Assert.Equal(TimeSpan.FromSeconds(60), UploadWorker.ItemDeferral(1));
        Assert.Equal(TimeSpan.FromMinutes(32), UploadWorker.ItemDeferral(6));
        Assert.Equal(TimeSpan.FromHours(1), UploadWorker.ItemDeferral(7));
        Assert.Equal(TimeSpan.FromHours(1), UploadWorker.ItemDeferral(1000));
    }
}
