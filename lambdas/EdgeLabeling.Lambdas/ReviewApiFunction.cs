using System.Text;
using System.Text.Json;
using Amazon.SQS;
using EdgeLabeling.Contracts;
using EdgeLabeling.Review.Api;
using EdgeLabeling.Review.BuiltIn;
using EdgeLabeling.Storage;

namespace EdgeLabeling.Lambdas;

/// <summary>
/// Handler <c>EdgeLabeling.Lambdas::EdgeLabeling.Lambdas.ReviewApiFunction::HandleAsync</c>: an HTTP API
/// (payload 2.0) request in, the HTTP API response out. A thin adapter: the caller comes from the claims the
/// JWT authorizer checked, everything else (group, lease owner, input checks, statuses) is the API core's.
/// </summary>
public sealed class ReviewApiFunction
{
    private readonly ReviewApi _api;

    /// <summary>Lambda's constructor: settings from environment variables.</summary>
    public ReviewApiFunction()
        : this(BuiltInBackendSettings.FromEnvironment(publishes: true))
    {
    }

    private ReviewApiFunction(BuiltInBackendSettings settings)
        : this(CreateApi(settings))
    {
    }

    public ReviewApiFunction(ReviewApi api) => _api = api;

    internal static BuiltInLabelingService CreateBackend(BuiltInBackendSettings settings, out Amazon.S3.IAmazonS3 s3)
    {
        var s3Settings = new S3Settings { Region = settings.Review.Region };
        s3 = s3Settings.CreateClient();
        var sqs = new AmazonSQSClient(new AmazonSQSConfig { RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(settings.Review.Region) });
        return new BuiltInLabelingService(settings.CreateTaskStore(), new S3ObjectStore(s3, s3Settings),
            new SqsJobStateChangePublisher(sqs, settings.MergeQueueUrl!), settings.Review);
    }

    private static ReviewApi CreateApi(BuiltInBackendSettings settings)
    {
        var backend = CreateBackend(settings, out var s3);
        return new ReviewApi(backend, new S3PresignedImageUrlSigner(s3));
    }

    public async Task<Stream> HandleAsync(Stream input)
    {
        HttpApiResponse response;
        try
        {
            var request = await JsonSerializer.DeserializeAsync(input, HttpApiJsonContext.Default.HttpApiRequest).ConfigureAwait(false);
            response = request?.RequestContext?.Http?.Method is { } method && request.RawPath is { } path
                ? ToResponse(await _api.HandleAsync(new ApiRequest(method, path + (request.RawQueryString is { Length: > 0 } q ? "?" + q : ""), CallerOf(request), BodyOf(request))).ConfigureAwait(false))
                : ToResponse(ApiResponse.Error(400, "malformed-request", "not an HTTP API payload 2.0 event (requestContext.http.method and rawPath are required)"));
        }
        catch (JsonException ex)
        {
            response = ToResponse(ApiResponse.Error(400, "malformed-request", "not an HTTP API payload 2.0 event: " + ex.Message));
        }
        catch (FormatException ex)
        {
            response = ToResponse(ApiResponse.Error(400, "malformed-request", "the request body is not valid base64: " + ex.Message));
        }

        var output = new MemoryStream();
        await JsonSerializer.SerializeAsync(output, response, HttpApiJsonContext.Default.HttpApiResponse).ConfigureAwait(false);
        output.Position = 0;
        return output;
    }

    /// <summary>
    /// The caller as the JWT authorizer established it. No claims means the route was reached without the
    /// authorizer (a misconfiguration): refused as unauthenticated rather than trusted.
    /// </summary>
    internal static AuthResult CallerOf(HttpApiRequest request)
    {
        var claims = request.RequestContext?.Authorizer?.Jwt?.Claims;
        if (claims is null || !claims.TryGetValue("sub", out var sub) || string.IsNullOrEmpty(sub) || sub.Contains('|', StringComparison.Ordinal)
            || !claims.TryGetValue("iss", out var issuer) || string.IsNullOrEmpty(issuer))
        {
            return AuthResult.Fail("unauthenticated", "sign in first: the request carries no verified identity");
        }

        var name = claims.GetValueOrDefault("cognito:username") ?? claims.GetValueOrDefault("username") ?? sub;
        return AuthResult.Ok(new ReviewCaller(sub, issuer, name, ParseGroups(claims.GetValueOrDefault("cognito:groups"))));
    }

    /// <summary>
    /// HTTP API hands array claims over as one string: "[labelers admins]". A JSON array ("[\"a\",\"b\"]") and a
    /// single group name are read too, so a change of rendering cannot silently turn a labeler away or in.
    /// </summary>
    internal static IReadOnlyList<string> ParseGroups(string? claim)
    {
        if (string.IsNullOrWhiteSpace(claim))
        {
            return [];
        }

        var text = claim.Trim();
        if (text.StartsWith("[\"", StringComparison.Ordinal))
        {
            try
            {
                return JsonSerializer.Deserialize(text, HttpApiGroupsJsonContext.Default.ListString) ?? [];
            }
            catch (JsonException)
            {
                return [];
            }
        }

        if (text.StartsWith('[') && text.EndsWith(']'))
        {
            text = text[1..^1];
        }

        return text.Split([' ', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    private static ReadOnlyMemory<byte> BodyOf(HttpApiRequest request) => request.Body is not { Length: > 0 } body
        ? ReadOnlyMemory<byte>.Empty
        : request.IsBase64Encoded ? Convert.FromBase64String(body) : Encoding.UTF8.GetBytes(body);

    private static HttpApiResponse ToResponse(ApiResponse response) => new()
    {
        StatusCode = response.Status,
        Headers = response.Body is null
            ? new Dictionary<string, string> { ["cache-control"] = "no-store" }
            : new Dictionary<string, string> { ["content-type"] = "application/json; charset=utf-8", ["cache-control"] = "no-store" },
        Body = response.Body?.ToJsonString(),
    };
}

/// <summary>
/// Handler <c>EdgeLabeling.Lambdas::EdgeLabeling.Lambdas.ReviewSweepFunction::HandleAsync</c>: scheduled
/// (EventBridge); completes the built-in jobs whose tasks are all done or whose availability ended, which
/// writes their Ground Truth-format output and sends their state-change events to the merge queue.
/// </summary>
public sealed class ReviewSweepFunction
{
    private readonly BuiltInLabelingService _backend;

    public ReviewSweepFunction()
        : this(ReviewApiFunction.CreateBackend(BuiltInBackendSettings.FromEnvironment(publishes: true), out _))
    {
    }

    public ReviewSweepFunction(BuiltInLabelingService backend) => _backend = backend;

    public async Task<Stream> HandleAsync(Stream input)
    {
        var completed = await _backend.SweepAsync().ConfigureAwait(false);
        var output = new MemoryStream();
        await JsonSerializer.SerializeAsync(output, new ReviewSweepReport { CompletedJobs = completed }, HttpApiJsonContext.Default.ReviewSweepReport).ConfigureAwait(false);
        output.Position = 0;
        return output;
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(List<string>))]
internal sealed partial class HttpApiGroupsJsonContext : System.Text.Json.Serialization.JsonSerializerContext;
