using System.Net;

namespace EdgeLabeling.Labeling.SageMaker;

/// <summary>The four SageMaker labeling-job operations the pipeline uses.</summary>
public interface ISageMakerClient
{
    Task<CreateLabelingJobResponse> CreateLabelingJobAsync(CreateLabelingJobRequest request, CancellationToken cancellationToken = default);

    Task<DescribeLabelingJobResponse> DescribeLabelingJobAsync(string labelingJobName, CancellationToken cancellationToken = default);

    Task<ListLabelingJobsResponse> ListLabelingJobsAsync(ListLabelingJobsRequest request, CancellationToken cancellationToken = default);

    /// <summary>Stops a job; a stopped job cannot be restarted.</summary>
    Task StopLabelingJobAsync(string labelingJobName, CancellationToken cancellationToken = default);
}

/// <summary>An error returned by SageMaker; <see cref="ErrorCode"/> is the short <c>__type</c> name.</summary>
public class SageMakerException(string errorCode, string message, HttpStatusCode statusCode, string? requestId = null, Exception? inner = null)
    : Exception($"SageMaker {errorCode} ({(int)statusCode}): {message}", inner)
{
    public string ErrorCode { get; } = errorCode;
    public HttpStatusCode StatusCode { get; } = statusCode;
    public string? RequestId { get; } = requestId;
    public string ServiceMessage { get; } = message;
}

/// <summary>The name is taken (names are unique per account and Region, case-insensitively, forever).</summary>
public sealed class SageMakerResourceInUseException(string message, HttpStatusCode status, string? requestId = null)
    : SageMakerException("ResourceInUse", message, status, requestId);

public sealed class SageMakerResourceNotFoundException(string message, HttpStatusCode status, string? requestId = null)
    : SageMakerException("ResourceNotFound", message, status, requestId);

public sealed class SageMakerResourceLimitExceededException(string message, HttpStatusCode status, string? requestId = null)
    : SageMakerException("ResourceLimitExceeded", message, status, requestId);

public sealed class SageMakerValidationException(string message, HttpStatusCode status, string? requestId = null)
    : SageMakerException("ValidationException", message, status, requestId);

public sealed class SageMakerThrottlingException(string message, HttpStatusCode status, string? requestId = null)
    : SageMakerException("ThrottlingException", message, status, requestId);

/// <summary>Where signing credentials come from.</summary>
public interface ISigningCredentialsSource
{
    ValueTask<SigningCredentials> GetAsync(CancellationToken cancellationToken);
}

/// <summary>Fixed credentials (tests, the local emulator).</summary>
public sealed class StaticCredentialsSource(SigningCredentials credentials) : ISigningCredentialsSource
{
    public ValueTask<SigningCredentials> GetAsync(CancellationToken cancellationToken) => ValueTask.FromResult(credentials);
}

/// <summary>
/// The AWS SDK's default chain (environment, profile, ECS/Lambda container credentials, IMDS):
/// in Lambda it picks up the execution role's session credentials from the environment.
/// </summary>
public sealed class AwsSdkCredentialsSource : ISigningCredentialsSource
{
    private readonly Lazy<Amazon.Runtime.AWSCredentials> _credentials = new(() => Amazon.Runtime.Credentials.DefaultAWSCredentialsIdentityResolver.GetCredentials(null));

    public async ValueTask<SigningCredentials> GetAsync(CancellationToken cancellationToken)
    {
        var c = await _credentials.Value.GetCredentialsAsync().ConfigureAwait(false);
        return new SigningCredentials(c.AccessKey, c.SecretKey, string.IsNullOrEmpty(c.Token) ? null : c.Token);
    }
}
