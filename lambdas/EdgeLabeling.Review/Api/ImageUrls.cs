using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using EdgeLabeling.Review.Tasks;

namespace EdgeLabeling.Review.Api;

/// <summary>Short-lived links to a task's image for the page.</summary>
public interface IImageUrlSigner
{
    Task<string> SignAsync(ReviewJob job, ReviewTask task, DateTimeOffset expires, CancellationToken cancellationToken = default);
}

/// <summary>
/// The local server's image links: <c>/images/{job}/{index}?exp=…&amp;sig=…</c> with an HMAC over job, index
/// and expiry under a key made per run, so a link works only for that image and only until it expires.
/// </summary>
public sealed class HmacImageUrlSigner(byte[] key) : IImageUrlSigner
{
    public Task<string> SignAsync(ReviewJob job, ReviewTask task, DateTimeOffset expires, CancellationToken cancellationToken = default)
    {
        var exp = expires.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        return Task.FromResult($"/images/{Uri.EscapeDataString(job.Name)}/{task.Index}?exp={exp}&sig={Sign(job.Key, task.Index, exp)}");
    }

    /// <summary>True when the link is this signer's, for this image, and not expired.</summary>
    public bool Verify(string jobName, int index, string? exp, string? sig, DateTimeOffset now)
    {
        if (exp is null || sig is null || !long.TryParse(exp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || DateTimeOffset.FromUnixTimeSeconds(seconds) <= now)
        {
            return false;
        }

        var expected = Encoding.ASCII.GetBytes(Sign(ReviewJob.KeyOf(jobName), index, exp));
        return CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(sig));
    }

    private string Sign(string jobKey, int index, string exp) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{jobKey}\n{index}\n{exp}")));
}
