using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace EdgeLabeling.Labeling.SageMaker;

/// <summary>Access key, secret and (for temporary credentials) the session token.</summary>
public sealed record SigningCredentials(string AccessKey, string SecretKey, string? SessionToken = null);

/// <summary>Everything a signature was computed from, kept for tests and for debugging a 403.</summary>
public sealed record SigV4Signature(string CanonicalRequest, string StringToSign, string SignedHeaders, string Signature, string Authorization);

/// <summary>
/// AWS Signature Version 4 for header-signed requests (HMAC-SHA256 over the canonical request).
/// Small enough to own, which keeps the SageMaker client free of the SDK's internal pipeline types.
/// The canonicalization and key-derivation steps are public so that the Ground Truth emulator verifies
/// signatures with exactly the arithmetic the client signs with.
/// </summary>
public static class SigV4Signer
{
    public const string Algorithm = "AWS4-HMAC-SHA256";

    /// <summary>The <c>x-amz-date</c> format, <c>yyyyMMddTHHmmssZ</c>.</summary>
    public const string AmzDateFormat = "yyyyMMdd'T'HHmmss'Z'";

    /// <summary>
    /// Signs a request. <paramref name="headers"/> must contain every header to sign, including
    /// <c>host</c> and <c>x-amz-date</c> (formatted <c>yyyyMMddTHHmmssZ</c> for <paramref name="utcNow"/>).
    /// </summary>
    public static SigV4Signature Sign(string method, Uri uri, IEnumerable<KeyValuePair<string, string>> headers, ReadOnlySpan<byte> payload,
        SigningCredentials credentials, string region, string service, DateTime utcNow)
    {
        var amzDate = utcNow.ToString(AmzDateFormat, CultureInfo.InvariantCulture);
        var date = amzDate[..8];
        // Repeated headers are signed once, their values joined by commas, as HTTP folds them.
        var canonicalHeaders = headers
            .GroupBy(h => h.Key.Trim().ToLowerInvariant(), StringComparer.Ordinal)
            .Select(g => new KeyValuePair<string, string>(g.Key, string.Join(',', g.Select(h => CanonicalHeaderValue(h.Value)))))
            .OrderBy(h => h.Key, StringComparer.Ordinal)
            .ToList();
        var signedHeaders = string.Join(';', canonicalHeaders.Select(h => h.Key));
        var canonicalRequest = CanonicalRequest(method, uri.AbsolutePath, DecodedQuery(uri), canonicalHeaders, HexSha256(payload));
        var scope = CredentialScope(date, region, service);
        var stringToSign = StringToSign(amzDate, scope, canonicalRequest);
        var signature = ComputeSignature(credentials.SecretKey, date, region, service, stringToSign);
        return new SigV4Signature(canonicalRequest, stringToSign, signedHeaders, signature, AuthorizationHeader(credentials.AccessKey, scope, signedHeaders, signature));
    }

    /// <summary>
    /// The canonical request: method, canonical path and query, the headers in the order given (names
    /// lower-case, values already passed through <see cref="CanonicalHeaderValue"/>), the signed-header
    /// list and the hex SHA-256 of the payload.
    /// </summary>
    /// <param name="absolutePath">The request path as sent; each segment is unescaped, then encoded as SigV4 requires.</param>
    /// <param name="decodedQuery">Query parameters with names and values already percent-decoded.</param>
    public static string CanonicalRequest(string method, string absolutePath, IEnumerable<KeyValuePair<string, string>> decodedQuery,
        IReadOnlyList<KeyValuePair<string, string>> canonicalHeaders, string payloadHash)
    {
        var canonical = new StringBuilder()
            .Append(method.ToUpperInvariant()).Append('\n')
            .Append(CanonicalPath(absolutePath)).Append('\n')
            .Append(CanonicalQuery(decodedQuery)).Append('\n');
        foreach (var (name, value) in canonicalHeaders)
        {
            canonical.Append(name).Append(':').Append(value).Append('\n');
        }

        canonical.Append('\n').AppendJoin(';', canonicalHeaders.Select(h => h.Key)).Append('\n').Append(payloadHash);
        return canonical.ToString();
    }

    /// <summary><c>date/region/service/aws4_request</c>, the scope a signature is valid for.</summary>
    public static string CredentialScope(string date, string region, string service) => $"{date}/{region}/{service}/aws4_request";

    /// <summary>The string to sign: algorithm, request time, scope and the hash of the canonical request.</summary>
    public static string StringToSign(string amzDate, string scope, string canonicalRequest) =>
        $"{Algorithm}\n{amzDate}\n{scope}\n{HexSha256(Encoding.UTF8.GetBytes(canonicalRequest))}";

    /// <summary>The lower-case hex HMAC of <paramref name="stringToSign"/> under the derived signing key.</summary>
    public static string ComputeSignature(string secretKey, string date, string region, string service, string stringToSign) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(SigningKey(secretKey, date, region, service), Encoding.UTF8.GetBytes(stringToSign)));

    /// <summary>The <c>Authorization</c> header value carrying a signature.</summary>
    public static string AuthorizationHeader(string accessKey, string scope, string signedHeaders, string signature) =>
        $"{Algorithm} Credential={accessKey}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}";

    /// <summary>kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request").</summary>
    public static byte[] SigningKey(string secretKey, string date, string region, string service)
    {
        var k = HMACSHA256.HashData(Encoding.UTF8.GetBytes("AWS4" + secretKey), Encoding.UTF8.GetBytes(date));
        k = HMACSHA256.HashData(k, Encoding.UTF8.GetBytes(region));
        k = HMACSHA256.HashData(k, Encoding.UTF8.GetBytes(service));
        return HMACSHA256.HashData(k, "aws4_request"u8);
    }

    public static string HexSha256(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>The value of the <c>host</c> header HttpClient sends for <paramref name="uri"/>.</summary>
    public static string HostHeader(Uri uri) => uri.IsDefaultPort ? uri.Host : $"{uri.Host}:{uri.Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>A header value as SigV4 signs it: trimmed, with runs of spaces collapsed to one.</summary>
    public static string CanonicalHeaderValue(string value)
    {
        var sb = new StringBuilder(value.Length);
        var space = false;
        foreach (var c in value.Trim())
        {
            if (c == ' ')
            {
                if (!space)
                {
                    sb.Append(c);
                }

                space = true;
            }
            else
            {
                sb.Append(c);
                space = false;
            }
        }

        return sb.ToString();
    }

    private static string CanonicalPath(string path)
    {
        if (string.IsNullOrEmpty(path))
        {
            return "/";
        }

        // Non-S3 services sign each segment URI-encoded once more than it appears on the wire; '/' itself stays.
        return string.Join('/', path.Split('/').Select(s => Rfc3986(Rfc3986(Uri.UnescapeDataString(s)))));
    }

    private static IEnumerable<KeyValuePair<string, string>> DecodedQuery(Uri uri)
    {
        var query = uri.Query.TrimStart('?');
        if (query.Length == 0)
        {
            return [];
        }

        return query.Split('&').Select(p =>
        {
            var i = p.IndexOf('=', StringComparison.Ordinal);
            return new KeyValuePair<string, string>(Uri.UnescapeDataString(i < 0 ? p : p[..i]), i < 0 ? "" : Uri.UnescapeDataString(p[(i + 1)..]));
        });
    }

    private static string CanonicalQuery(IEnumerable<KeyValuePair<string, string>> decodedQuery) =>
        string.Join('&', decodedQuery
            .Select(p => (Name: Rfc3986(p.Key), Value: Rfc3986(p.Value)))
            .OrderBy(p => p.Name, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => p.Name + "=" + p.Value));

    private static string Rfc3986(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var b in Encoding.UTF8.GetBytes(s))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~')
            {
                sb.Append(c);
            }
            else
            {
                sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }
}
