using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace EdgeLabeling.Labeling.Jobs;

/// <summary>
/// Batch ids and the labeling job names derived from them. The name is a pure function of the
/// batch id, so a batcher that retries after a timeout asks for the same name and gets
/// ResourceInUse instead of creating a second job.
/// </summary>
public static class JobNames
{
    public const int MaxLength = 63;

    /// <summary>A new batch id: UTC time (sorts by creation) plus 8 random hex characters (two batchers in the same second differ).</summary>
    public static string NewBatchId(DateTimeOffset now) =>
        string.Create(CultureInfo.InvariantCulture, $"{now.UtcDateTime:yyyyMMdd't'HHmmss}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}");

    /// <summary>
    /// The job name for a batch: "{prefix}-{batchId}" lower-cased with anything outside [a-z0-9-]
    /// replaced by '-'. When that exceeds 63 characters, the tail is replaced by a hash of the
    /// full name so different long ids still give different names.
    /// </summary>
    public static string ForBatch(string prefix, string batchId)
    {
        if (string.IsNullOrWhiteSpace(batchId))
        {
            throw new ArgumentException("batch id is empty", nameof(batchId));
        }

        var raw = (prefix + "-" + batchId).ToLowerInvariant();
        var sb = new StringBuilder(raw.Length);
        foreach (var c in raw)
        {
            sb.Append(char.IsAsciiLetterOrDigit(c) ? c : '-');
        }

        var name = sb.ToString().Trim('-');
        if (name.Length > MaxLength)
        {
            var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(raw)))[..10];
            name = name[..(MaxLength - hash.Length - 1)].TrimEnd('-') + "-" + hash;
        }

        if (name.Length == 0)
        {
            throw new ArgumentException($"batch id '{batchId}' gives an empty job name", nameof(batchId));
        }

        return name;
    }
}
