using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using EdgeLabeling.Labeling.SageMaker;

namespace EdgeLabeling.Simulation;

/// <summary>Why a request's signature was refused, as the AWS error type and message.</summary>
public sealed record SignatureFailure(string ErrorType, string Message);

/// <summary>The parts of an HTTP request that a SigV4 signature covers.</summary>
public sealed record SignedRequest(
    string Method,
    string Path,
    IReadOnlyList<KeyValuePair<string, string>> Query,
    IReadOnlyDictionary<string, string> Headers,
    ReadOnlyMemory<byte> Body);

/// <summary>
/// Recomputes an AWS Signature Version 4 (header form, AWS4-HMAC-SHA256) from the canonical request and
/// compares it with the one the client sent. The payload hash is always taken from the received bytes,
/// so a body changed after signing is caught.
/// </summary>
public sealed class SigV4Verifier(string accessKeyId, string secretAccessKey, string region, string service, TimeSpan allowedSkew, TimeProvider time)
{
    private const string Algorithm = SigV4Signer.Algorithm;

    /// <summary>Null when the signature is valid, else the reason.</summary>
    public SignatureFailure? Verify(SignedRequest request)
    {
        if (!request.Headers.TryGetValue("authorization", out var authorization) || string.IsNullOrWhiteSpace(authorization))
        {
            return new("IncompleteSignatureException", "Request is missing the Authorization header (AWS Signature Version 4 required).");
        }

        if (!authorization.StartsWith(Algorithm + " ", StringComparison.Ordinal))
        {
            return new("IncompleteSignatureException", $"Authorization header must use {Algorithm}.");
        }

        string? credential = null, signedHeaders = null, signature = null;
        foreach (var part in authorization[(Algorithm.Length + 1)..].Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=');
            if (eq <= 0)
            {
                continue;
            }

            var (name, value) = (part[..eq], part[(eq + 1)..]);
            switch (name)
            {
                case "Credential": credential = value; break;
                case "SignedHeaders": signedHeaders = value; break;
                case "Signature": signature = value; break;
            }
        }

        if (credential is null || signedHeaders is null || signature is null)
        {
            return new("IncompleteSignatureException", "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.");
        }

        var scope = credential.Split('/');
        if (scope.Length != 5 || scope[4] != "aws4_request")
        {
            return new("IncompleteSignatureException", $"Credential '{credential}' is not <key>/<date>/<region>/<service>/aws4_request.");
        }

        if (!string.Equals(scope[0], accessKeyId, StringComparison.Ordinal))
        {
            return new("UnrecognizedClientException", "The security token included in the request is invalid (unknown access key).");
        }

        if (!request.Headers.TryGetValue("x-amz-date", out var amzDate) ||
            !DateTimeOffset.TryParseExact(amzDate, SigV4Signer.AmzDateFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var signedAt))
        {
            return new("IncompleteSignatureException", "Request must carry an X-Amz-Date header formatted yyyyMMddTHHmmssZ.");
        }

        var skew = (time.GetUtcNow() - signedAt).Duration();
        if (skew > allowedSkew)
        {
            return new("InvalidSignatureException", $"Signature expired: {amzDate} is more than {allowedSkew.TotalMinutes:0} minutes away from the server time {time.GetUtcNow():yyyyMMdd'T'HHmmss'Z'}.");
        }

        if (scope[1] != amzDate[..8])
        {
            return new("InvalidSignatureException", $"Credential date {scope[1]} does not match X-Amz-Date {amzDate}.");
        }

        if (scope[2] != region)
        {
            return new("InvalidSignatureException", $"Credential should be scoped to a valid region, not '{scope[2]}' (this endpoint is '{region}').");
        }

        if (scope[3] != service)
        {
            return new("InvalidSignatureException", $"Credential should be scoped to correct service: '{service}', not '{scope[3]}'.");
        }

        var headerNames = signedHeaders.Split(';');
        if (!headerNames.Contains("host"))
        {
            return new("InvalidSignatureException", "The host header must be signed.");
        }

        var canonical = CanonicalRequest(request, headerNames, out var missing);
        if (missing is not null)
        {
            return new("InvalidSignatureException", $"Signed header '{missing}' is not present in the request.");
        }

        var stringToSign = SigV4Signer.StringToSign(amzDate, SigV4Signer.CredentialScope(scope[1], region, service), canonical);
        var expected = SigV4Signer.ComputeSignature(secretAccessKey, scope[1], region, service, stringToSign);
        if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature.ToLowerInvariant())))
        {
            return new("InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.");
        }

        return null;
    }

    /// <summary>
    /// The SigV4 canonical request (exposed for tests that sign requests by hand). Headers are taken in the
    /// order the client listed them; a listed header the request lacks is reported in <paramref name="missingHeader"/>.
    /// </summary>
    public static string CanonicalRequest(SignedRequest request, IReadOnlyList<string> signedHeaders, out string? missingHeader)
    {
        missingHeader = null;
        var headers = new List<KeyValuePair<string, string>>(signedHeaders.Count);
        foreach (var name in signedHeaders)
        {
            if (!request.Headers.TryGetValue(name, out var value))
            {
                missingHeader = name;
                value = "";
            }

            headers.Add(new(name, SigV4Signer.CanonicalHeaderValue(value)));
        }

        return SigV4Signer.CanonicalRequest(request.Method, request.Path, request.Query, headers, SigV4Signer.HexSha256(request.Body.Span));
    }

    /// <summary>Signs a request the way an AWS SDK would; used by tests and the demo client.</summary>
    public static string Sign(SignedRequest request, IReadOnlyList<string> signedHeaders, string accessKeyId, string secretAccessKey, string region, string service, string amzDate)
    {
        var canonical = CanonicalRequest(request, signedHeaders, out _);
        var scope = SigV4Signer.CredentialScope(amzDate[..8], region, service);
        var signature = SigV4Signer.ComputeSignature(secretAccessKey, amzDate[..8], region, service, SigV4Signer.StringToSign(amzDate, scope, canonical));
        return SigV4Signer.AuthorizationHeader(accessKeyId, scope, string.Join(';', signedHeaders), signature);
    }
}
