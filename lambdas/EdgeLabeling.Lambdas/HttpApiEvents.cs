using System.Text.Json.Serialization;

namespace EdgeLabeling.Lambdas;

/// <summary>
/// The parts of API Gateway's HTTP API Lambda proxy event (payload format version 2.0) the review API reads.
/// With a JWT authorizer, API Gateway has already checked the token's signature, issuer, audience and
/// expiry before invoking, and passes the claims as strings in <c>requestContext.authorizer.jwt.claims</c>.
/// </summary>
public sealed record HttpApiRequest
{
    [JsonPropertyName("version")]
    public string? Version { get; init; }

    [JsonPropertyName("routeKey")]
    public string? RouteKey { get; init; }

    [JsonPropertyName("rawPath")]
    public string? RawPath { get; init; }

    [JsonPropertyName("rawQueryString")]
    public string? RawQueryString { get; init; }

    [JsonPropertyName("headers")]
    public Dictionary<string, string>? Headers { get; init; }

    [JsonPropertyName("requestContext")]
    public HttpApiRequestContext? RequestContext { get; init; }

    [JsonPropertyName("body")]
    public string? Body { get; init; }

    [JsonPropertyName("isBase64Encoded")]
    public bool IsBase64Encoded { get; init; }
}

public sealed record HttpApiRequestContext
{
    [JsonPropertyName("http")]
    public HttpApiHttpDescription? Http { get; init; }

    [JsonPropertyName("authorizer")]
    public HttpApiAuthorizerDescription? Authorizer { get; init; }
}

public sealed record HttpApiHttpDescription
{
    [JsonPropertyName("method")]
    public string? Method { get; init; }

    [JsonPropertyName("path")]
    public string? Path { get; init; }
}

public sealed record HttpApiAuthorizerDescription
{
    [JsonPropertyName("jwt")]
    public HttpApiJwtDescription? Jwt { get; init; }
}

public sealed record HttpApiJwtDescription
{
    /// <summary>Every claim as a string; an array claim such as <c>cognito:groups</c> arrives as "[a b]".</summary>
    [JsonPropertyName("claims")]
    public Dictionary<string, string>? Claims { get; init; }

    [JsonPropertyName("scopes")]
    public List<string>? Scopes { get; init; }
}

/// <summary>The HTTP API response format 2.0 (statusCode, headers, body).</summary>
public sealed record HttpApiResponse
{
    [JsonPropertyName("statusCode")]
    public int StatusCode { get; init; }

    [JsonPropertyName("headers")]
    public Dictionary<string, string> Headers { get; init; } = [];

    [JsonPropertyName("body")]
    public string? Body { get; init; }

    [JsonPropertyName("isBase64Encoded")]
    public bool IsBase64Encoded { get; init; }
}

/// <summary>The sweep's report.</summary>
public sealed record ReviewSweepReport
{
    [JsonPropertyName("completedJobs")]
    public required IReadOnlyList<string> CompletedJobs { get; init; }
}

[JsonSerializable(typeof(HttpApiRequest))]
[JsonSerializable(typeof(HttpApiResponse))]
[JsonSerializable(typeof(ReviewSweepReport))]
internal sealed partial class HttpApiJsonContext : JsonSerializerContext;
