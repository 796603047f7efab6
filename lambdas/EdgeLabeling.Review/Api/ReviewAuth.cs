using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EdgeLabeling.Review.Tasks;

namespace EdgeLabeling.Review.Api;

/// <summary>Who is calling, as the authorizer established it.</summary>
public sealed record ReviewCaller(string Sub, string Issuer, string Name, IReadOnlyList<string> Groups, string IdentityProviderType = "Cognito")
{
    /// <summary>The id leases and submissions carry.</summary>
    public string Owner => ReviewWorkerId.Format(IdentityProviderType, Issuer, Sub);
}

/// <summary>An authenticated caller, or the reason there is none (always a 401).</summary>
public sealed record AuthResult(ReviewCaller? Caller, string? Code = null, string? Message = null)
{
    public static AuthResult Ok(ReviewCaller caller) => new(caller);

    public static AuthResult Fail(string code, string message) => new(null, code, message);
}

/// <summary>Turns the Authorization header into a caller (the local server; on AWS API Gateway's JWT authorizer does this).</summary>
public interface IReviewAuthenticator
{
    AuthResult Authenticate(string? authorizationHeader, DateTimeOffset now);
}

/// <summary>
/// <c>edgelabel review</c>'s sign-in: a random token printed once on start (in the review URL); whoever
/// has it acts as one local labeler in the labelers group. Compared in constant time.
/// </summary>
public sealed class LocalTokenAuthenticator(string token, string labelersGroup = "labelers", string name = "local-labeler") : IReviewAuthenticator
{
    public const string Issuer = "edgelabel-review-local";
    private readonly byte[] _token = Encoding.UTF8.GetBytes(token);

    public static string NewToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    public AuthResult Authenticate(string? authorizationHeader, DateTimeOffset now)
    {
        if (BearerToken(authorizationHeader) is not { } presented)
        {
            return AuthResult.Fail("unauthenticated", "sign in first: send 'Authorization: Bearer <token>' (the token is in the URL edgelabel review printed)");
        }

        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), _token)
            ? AuthResult.Ok(new ReviewCaller(name, Issuer, name, [labelersGroup], "Local"))
            : AuthResult.Fail("token-invalid", "the token is not the one edgelabel review printed on start");
    }

    internal static string? BearerToken(string? header) =>
        header is { Length: > 7 } h && h.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) && h[7..].Trim() is { Length: > 0 } t ? t : null;
}

/// <summary>
/// Checks an RS256 JWT the way API Gateway's JWT authorizer does for a Cognito user pool: signature by a
/// trusted key, <c>iss</c>, <c>exp</c>/<c>nbf</c>, and, when set, the audience (<c>aud</c> or the access
/// token's <c>client_id</c>). The groups come from <c>cognito:groups</c>. Used locally (tests, a laptop
/// trusting a test key); the group check itself is the API core's, on AWS too.
/// </summary>
public sealed class JwtAuthenticator(RSA trustedKey, string issuer, string? audience = null, TimeSpan? clockSkew = null) : IReviewAuthenticator
{
    private readonly TimeSpan _skew = clockSkew ?? TimeSpan.FromSeconds(60);

    public AuthResult Authenticate(string? authorizationHeader, DateTimeOffset now)
    {
        if (LocalTokenAuthenticator.BearerToken(authorizationHeader) is not { } token)
        {
            return AuthResult.Fail("unauthenticated", "sign in first: send 'Authorization: Bearer <JWT>'");
        }

        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            return AuthResult.Fail("token-invalid", "the bearer token is not a JWT (header.payload.signature)");
        }

        try
        {
            using var header = JsonDocument.Parse(Base64Url(parts[0]));
            if (!header.RootElement.TryGetProperty("alg", out var alg) || alg.GetString() != "RS256")
            {
                return AuthResult.Fail("token-invalid", "the JWT must be signed with RS256");
            }

            if (!trustedKey.VerifyData(Encoding.ASCII.GetBytes(parts[0] + "." + parts[1]), Base64Url(parts[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))
            {
                return AuthResult.Fail("token-invalid", "the JWT signature does not verify with a trusted key");
            }

            using var payload = JsonDocument.Parse(Base64Url(parts[1]));
            var claims = payload.RootElement;
            if (!claims.TryGetProperty("iss", out var iss) || iss.GetString() != issuer)
            {
                return AuthResult.Fail("token-invalid", $"the JWT issuer is not {issuer}");
            }

            if (!claims.TryGetProperty("exp", out var exp) || exp.ValueKind != JsonValueKind.Number)
            {
                return AuthResult.Fail("token-invalid", "the JWT has no exp claim");
            }

            var expires = DateTimeOffset.FromUnixTimeSeconds(exp.GetInt64());
            if (expires + _skew <= now)
            {
                return AuthResult.Fail("token-expired", $"the JWT expired at {expires:u}; sign in again");
            }

            if (claims.TryGetProperty("nbf", out var nbf) && nbf.ValueKind == JsonValueKind.Number && DateTimeOffset.FromUnixTimeSeconds(nbf.GetInt64()) - _skew > now)
            {
                return AuthResult.Fail("token-invalid", "the JWT is not valid yet (nbf)");
            }

            if (audience is not null && !(Claim(claims, "aud") == audience || Claim(claims, "client_id") == audience))
            {
                return AuthResult.Fail("token-invalid", "the JWT was issued for another app client");
            }

            var sub = Claim(claims, "sub");
            if (string.IsNullOrEmpty(sub) || sub.Contains('|', StringComparison.Ordinal))
            {
                return AuthResult.Fail("token-invalid", "the JWT has no usable sub claim");
            }

            var groups = claims.TryGetProperty("cognito:groups", out var g) && g.ValueKind == JsonValueKind.Array
                ? g.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToList()
                : [];
            var name = Claim(claims, "cognito:username") ?? Claim(claims, "username") ?? sub;
            return AuthResult.Ok(new ReviewCaller(sub, issuer, name, groups));
        }
        catch (Exception ex) when (ex is FormatException or JsonException or CryptographicException or InvalidOperationException)
        {
            return AuthResult.Fail("token-invalid", "the JWT is malformed: " + ex.Message);
        }
    }

    private static string? Claim(JsonElement claims, string name) =>
        claims.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    internal static byte[] Base64Url(string s)
    {
        var b = s.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(b.PadRight(b.Length + ((4 - (b.Length % 4)) % 4), '='));
    }
}

/// <summary>Tries the JWT authenticator for tokens shaped like a JWT, the local token otherwise.</summary>
public sealed class LocalOrJwtAuthenticator(LocalTokenAuthenticator local, JwtAuthenticator? jwt) : IReviewAuthenticator
{
    public AuthResult Authenticate(string? authorizationHeader, DateTimeOffset now) =>
        jwt is not null && LocalTokenAuthenticator.BearerToken(authorizationHeader) is { } t && t.Count(c => c == '.') == 2
            ? jwt.Authenticate(authorizationHeader, now)
            : local.Authenticate(authorizationHeader, now);
}
