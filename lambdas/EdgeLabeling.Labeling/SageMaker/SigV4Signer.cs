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
/// </summary>
public static class SigV4Signer
{
    public const string Algorithm = "AWS4-HMAC-SHA256";

    /// <summary>
    /// Signs a request. <paramref name="headers"/> must contain every header to sign, including
    /// <c>host</c> and <c>x-amz-date</c> (formatted <c>yyyyMMddTHHmmssZ</c> for <paramref name="utcNow"/>).
    /// </summary>
    public static SigV4Signature Sign(string method, Uri uri, IEnumerable<KeyValuePair<string, string>> headers, ReadOnlySpan<byte> payload,
        SigningCredentials credentials, string region, string service, DateTime utcNow)
    {
        var amzDate = utcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var date = amzDate[..8];
        var canonicalHeaders = headers
            .GroupBy(h => h.Key.Trim().ToLowerInvariant(), StringComparer.Ordinal)
            .Select(g => (Name: g.Key, Value: string.Join(',', g.Select(h => CollapseSpaces(h.Value)))))
            .OrderBy(h => h.Name, StringComparer.Ordinal)
            .ToList();
        var signedHeaders = string.Join(';', canonicalHeaders.Select(h => h.Name));
        var canonical = new StringBuilder()
            .Append(method.ToUpperInvariant()).Append('\n')
            .Append(CanonicalPath(uri)).Append('\n')
            .Append(CanonicalQuery(uri)).Append('\n');
        foreach (var (name, value) in canonicalHeaders)
        {
            canonical.Append(name).Append(':').Append(value).Append('\n');
        }

        canonical.Append('\n').Append(signedHeaders).Append('\n').Append(HexSha256(payload));
        var canonicalRequest = canonical.ToString();
        var scope = $"{date}/{region}/{service}/aws4_request";
        var stringToSign = $"{Algorithm}\n{amzDate}\n{scope}\n{HexSha256(Encoding.UTF8.GetBytes(canonicalRequest))}";
        var key = SigningKey(credentials.SecretKey, date, region, service);
        var signature = Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));
        var authorization = $"{Algorithm} Credential={credentials.AccessKey}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}";
        return new SigV4Signature(canonicalRequest, stringToSign, signedHeaders, signature, authorization);
    }

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

    private static string CollapseSpaces(string value)
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

    private static string CanonicalPath(Uri uri)
    {
        var path = uri.AbsolutePath;
        if (string.IsNullOrEmpty(path))
        {
            return "/";
        }

        // Non-S3 services sign each segment URI-encoded once more than it appears on the wire.
        return string.Join('/', path.Split('/').Select(s => Rfc3986(Uri.UnescapeDataString(s))).Select(s => Rfc3986(s)));
    }

    private static string CanonicalQuery(Uri uri)
    {
        var query = uri.Query.TrimStart('?');
        if (query.Length == 0)
        {
            return "";
        }

        return string.Join('&', query.Split('&')
            .Select(p =>
            {
                var i = p.IndexOf('=', StringComparison.Ordinal);
                var name = Uri.UnescapeDataString(i < 0 ? p : p[..i]);
                var value = i < 0 ? "" : Uri.UnescapeDataString(p[(i + 1)..]);
                return (Name: Rfc3986(name), Value: Rfc3986(value));
            })
            .OrderBy(p => p.Name, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => p.Name + "=" + p.Value));
    }

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
