using System.Security.Cryptography;
using System.Text;

namespace EdgeLabeling.Review.Tasks;

/// <summary>
/// The owner string a lease and a submission carry: "{identityProviderType}|{issuer}|{sub}", so the output
/// can name the worker the way Ground Truth's worker-response files do (workerId plus identityData).
/// </summary>
public static class ReviewWorkerId
{
    public static string Format(string identityProviderType, string issuer, string sub)
    {
        foreach (var (name, value) in new[] { ("identity provider", identityProviderType), ("issuer", issuer), ("sub", sub) })
        {
            if (string.IsNullOrEmpty(value) || value.Contains('|', StringComparison.Ordinal))
            {
                throw new ArgumentException($"worker {name} must be non-empty and contain no '|'");
            }
        }

        return $"{identityProviderType}|{issuer}|{sub}";
    }

    public static ReviewWorker Parse(string owner)
    {
        var parts = owner.Split('|');
        if (parts.Length != 3)
        {
            throw new FormatException($"'{owner}' is not a review worker id");
        }

        // Ground Truth's private worker ids look like "private.<region>.<id>"; the region comes from a Cognito issuer.
        var region = parts[1].StartsWith("https://cognito-idp.", StringComparison.Ordinal) ? parts[1]["https://cognito-idp.".Length..].Split('.')[0] : "local";
        var id = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(parts[1] + "|" + parts[2])))[..24];
        return new ReviewWorker($"private.{region}.{id}", parts[2], parts[1], parts[0]);
    }
}
