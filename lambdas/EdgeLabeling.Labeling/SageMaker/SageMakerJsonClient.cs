using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace EdgeLabeling.Labeling.SageMaker;

/// <summary>Where and how the SageMaker client connects.</summary>
public sealed record SageMakerClientOptions
{
    public required string Region { get; init; }

    /// <summary>Endpoint override (the local emulator); null means https://api.sagemaker.{Region}.amazonaws.com.</summary>
    public Uri? Endpoint { get; init; }

    /// <summary>Attempts per call for throttling, 5xx and connection failures (1 = no retry).</summary>
    public int MaxAttempts { get; init; } = 4;

    /// <summary>First backoff delay; doubled per attempt with full jitter.</summary>
    public TimeSpan BaseRetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    public Uri ResolveEndpoint() => Endpoint ?? new Uri($"https://api.sagemaker.{Region}.amazonaws.com/");
}

/// <summary>
/// SageMaker over its awsJson 1.1 wire protocol: <c>POST /</c>, <c>Content-Type: application/x-amz-json-1.1</c>,
/// <c>X-Amz-Target: SageMaker.&lt;Op&gt;</c>, SigV4 with signing name <c>sagemaker</c>. AWSSDK.SageMaker is
/// not available here, and four operations do not justify it.
/// </summary>
public sealed class SageMakerJsonClient(HttpClient http, SageMakerClientOptions options, ISigningCredentialsSource credentials, TimeProvider? time = null)
    : ISageMakerClient
{
    public const string ContentType = "application/x-amz-json-1.1";
    public const string SigningName = "sagemaker";
    public const string TargetPrefix = "SageMaker.";
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public Task<CreateLabelingJobResponse> CreateLabelingJobAsync(CreateLabelingJobRequest request, CancellationToken cancellationToken = default) =>
        SendAsync("CreateLabelingJob", request, LabelingJsonContext.Default.CreateLabelingJobRequest, LabelingJsonContext.Default.CreateLabelingJobResponse, cancellationToken);

    public Task<DescribeLabelingJobResponse> DescribeLabelingJobAsync(string labelingJobName, CancellationToken cancellationToken = default) =>
        SendAsync("DescribeLabelingJob", new LabelingJobNameRequest { LabelingJobName = labelingJobName }, LabelingJsonContext.Default.LabelingJobNameRequest, LabelingJsonContext.Default.DescribeLabelingJobResponse, cancellationToken);

    public Task<ListLabelingJobsResponse> ListLabelingJobsAsync(ListLabelingJobsRequest request, CancellationToken cancellationToken = default) =>
        SendAsync("ListLabelingJobs", request, LabelingJsonContext.Default.ListLabelingJobsRequest, LabelingJsonContext.Default.ListLabelingJobsResponse, cancellationToken);

    public async Task StopLabelingJobAsync(string labelingJobName, CancellationToken cancellationToken = default) =>
        await SendAsync<LabelingJobNameRequest, CreateLabelingJobResponse>("StopLabelingJob", new LabelingJobNameRequest { LabelingJobName = labelingJobName }, LabelingJsonContext.Default.LabelingJobNameRequest, null, cancellationToken).ConfigureAwait(false);

    /// <summary>The exact request body this client sends for <paramref name="request"/> (used by the dry run).</summary>
    public static byte[] SerializeCreateLabelingJob(CreateLabelingJobRequest request) =>
        JsonSerializer.SerializeToUtf8Bytes(request, LabelingJsonContext.Default.CreateLabelingJobRequest);

    private async Task<TResponse> SendAsync<TRequest, TResponse>(string operation, TRequest request, JsonTypeInfo<TRequest> requestInfo, JsonTypeInfo<TResponse>? responseInfo, CancellationToken ct)
        where TResponse : class, new()
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(request, requestInfo);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await SendOnceAsync(operation, body, responseInfo, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (attempt < options.MaxAttempts && IsRetryable(ex, ct))
            {
                // Full jitter: spreads concurrent batchers instead of retrying in lockstep.
                var cap = options.BaseRetryDelay.TotalMilliseconds * Math.Pow(2, attempt - 1);
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * cap), _time, ct).ConfigureAwait(false);
            }
        }
    }

    private static bool IsRetryable(Exception ex, CancellationToken ct) => ex switch
    {
        SageMakerThrottlingException => true,
        SageMakerException s => (int)s.StatusCode >= 500,
        HttpRequestException => true,
        TaskCanceledException => !ct.IsCancellationRequested,
        _ => false,
    };

    private async Task<TResponse> SendOnceAsync<TResponse>(string operation, byte[] body, JsonTypeInfo<TResponse>? responseInfo, CancellationToken ct)
        where TResponse : class, new()
    {
        var endpoint = options.ResolveEndpoint();
        var now = _time.GetUtcNow().UtcDateTime;
        var amzDate = now.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var creds = await credentials.GetAsync(ct).ConfigureAwait(false);
        var headers = new List<KeyValuePair<string, string>>
        {
            new("content-type", ContentType),
            new("host", SigV4Signer.HostHeader(endpoint)),
            new("x-amz-date", amzDate),
            new("x-amz-target", TargetPrefix + operation),
        };
        if (creds.SessionToken is not null)
        {
            headers.Add(new("x-amz-security-token", creds.SessionToken));
        }

        var signature = SigV4Signer.Sign("POST", endpoint, headers, body, creds, options.Region, SigningName, now);
        using var message = new HttpRequestMessage(HttpMethod.Post, endpoint);
        message.Content = new ByteArrayContent(body);
        message.Content.Headers.ContentType = new MediaTypeHeaderValue(ContentType);
        message.Headers.TryAddWithoutValidation("X-Amz-Date", amzDate);
        message.Headers.TryAddWithoutValidation("X-Amz-Target", TargetPrefix + operation);
        if (creds.SessionToken is not null)
        {
            message.Headers.TryAddWithoutValidation("X-Amz-Security-Token", creds.SessionToken);
        }

        message.Headers.TryAddWithoutValidation("Authorization", signature.Authorization);
        using var response = await http.SendAsync(message, ct).ConfigureAwait(false);
        var bytes = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw MapError(response, bytes);
        }

        if (responseInfo is null || bytes.Length == 0)
        {
            return new TResponse();
        }

        try
        {
            return JsonSerializer.Deserialize(bytes, responseInfo) ?? new TResponse();
        }
        catch (JsonException ex)
        {
            throw new SageMakerException("MalformedResponse", $"{operation} returned a body that is not its JSON shape: {ex.Message}", response.StatusCode, RequestId(response), ex);
        }
    }

    internal static SageMakerException MapError(HttpResponseMessage response, byte[] body)
    {
        string? type = null;
        string? message = null;
        try
        {
            var e = JsonSerializer.Deserialize(body, LabelingJsonContext.Default.SageMakerErrorBody);
            type = e?.Type;
            message = e?.Message ?? e?.LowerMessage;
        }
        catch (JsonException)
        {
            // Not JSON (a proxy's HTML page, say): fall back to the header and the status code.
        }

        if (type is null && response.Headers.TryGetValues("x-amzn-ErrorType", out var values))
        {
            type = values.FirstOrDefault();
        }

        var code = ShortCode(type) ?? (response.StatusCode == HttpStatusCode.TooManyRequests ? "ThrottlingException" : "UnknownError");
        message ??= System.Text.Encoding.UTF8.GetString(body.AsSpan(0, Math.Min(body.Length, 512)));
        var status = response.StatusCode;
        var id = RequestId(response);
        return code switch
        {
            "ResourceInUse" => new SageMakerResourceInUseException(message, status, id),
            "ResourceNotFound" => new SageMakerResourceNotFoundException(message, status, id),
            "ResourceLimitExceeded" => new SageMakerResourceLimitExceededException(message, status, id),
            "ValidationException" => new SageMakerValidationException(message, status, id),
            "ThrottlingException" or "Throttling" or "ThrottledException" => new SageMakerThrottlingException(message, status, id),
            _ => new SageMakerException(code, message, status, id),
        };
    }

    /// <summary><c>com.amazonaws.sagemaker#ResourceInUse:http://...</c> → <c>ResourceInUse</c>.</summary>
    internal static string? ShortCode(string? type)
    {
        if (string.IsNullOrWhiteSpace(type))
        {
            return null;
        }

        var s = type;
        var hash = s.LastIndexOf('#');
        if (hash >= 0)
        {
            s = s[(hash + 1)..];
        }

        var colon = s.IndexOf(':', StringComparison.Ordinal);
        return colon >= 0 ? s[..colon] : s;
    }

    private static string? RequestId(HttpResponseMessage r) =>
        r.Headers.TryGetValues("x-amzn-RequestId", out var v) ? v.FirstOrDefault() : null;
}
