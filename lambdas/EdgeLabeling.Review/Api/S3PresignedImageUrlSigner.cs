using Amazon.S3;
using Amazon.S3.Model;
using EdgeLabeling.Review.BuiltIn;
using EdgeLabeling.Review.Tasks;

namespace EdgeLabeling.Review.Api;

/// <summary>
/// The deployed API's image links: S3 presigned GET URLs for the task's own image (the key comes from the task,
/// never from the request), valid until <c>expires</c>. Presigning is local (no S3 call); the browser's GET is
/// then authorized as the signing role, which may read only the incoming images.
/// </summary>
public sealed class S3PresignedImageUrlSigner(IAmazonS3 s3) : IImageUrlSigner
{
    public Task<string> SignAsync(ReviewJob job, ReviewTask task, DateTimeOffset expires, CancellationToken cancellationToken = default)
    {
        var (bucket, key) = S3Uris.Parse(task.SourceRef);
        return s3.GetPreSignedURLAsync(new GetPreSignedUrlRequest
        {
            BucketName = bucket,
            Key = key,
            Verb = HttpVerb.GET,
            Protocol = Protocol.HTTPS,
            Expires = expires.UtcDateTime,
        });
    }
}
