using System.Globalization;
using System.IO.Hashing;
using System.Text;

namespace EdgeLabeling.Labeling.Merge;

/// <summary>
/// Which image a manifest line is about. Images are content-addressed (the file name is the SHA-256 of
/// the bytes), so the same picture seen by a job and by an auto-label batch joins even when the two
/// lines point at different buckets or prefixes.
/// </summary>
public static class ImageIdentity
{
    /// <summary>The image's SHA-256 when the source-ref's file name is one, else the source-ref itself.</summary>
    public static string KeyOf(string sourceRef)
    {
        var slash = sourceRef.LastIndexOf('/');
        var name = slash >= 0 ? sourceRef.AsSpan(slash + 1) : sourceRef.AsSpan();
        var dot = name.IndexOf('.');
        var stem = dot >= 0 ? name[..dot] : name;
        if (!IsSha256Hex(stem))
        {
            return sourceRef;
        }

        var lower = true;
        foreach (var c in stem)
        {
            lower &= !char.IsAsciiLetterUpper(c);
        }

        return lower ? stem.ToString() : stem.ToString().ToLowerInvariant();
    }

    /// <summary>
    /// A 128-bit fingerprint of the image key (XXH3-128 of the key's UTF-8, uniform even for keys that are
    /// not hashes; at a million images a collision has odds of about 10^-27). Sets of these stand in for sets of
    /// strings so that a join over a million images stays in tens of megabytes. Not SHA-256: the merge computes
    /// two per line and SHA-256 cost a quarter of its CPU; the keys are already SHA-256 of the image bytes.
    /// </summary>
    public static UInt128 Fingerprint(string imageKey)
    {
        var max = Encoding.UTF8.GetMaxByteCount(imageKey.Length);
        Span<byte> utf8 = max <= 512 ? stackalloc byte[max] : new byte[max];
        return XxHash128.HashToUInt128(utf8[..Encoding.UTF8.GetBytes(imageKey, utf8)]);
    }

    /// <summary>
    /// <c>Fingerprint(KeyOf(sourceRef))</c> without the key string: the merge and the settle compute one per
    /// line and per job item, and the 64-character key was their largest allocation after the line itself.
    /// </summary>
    public static UInt128 FingerprintOf(string sourceRef)
    {
        var slash = sourceRef.LastIndexOf('/');
        var name = slash >= 0 ? sourceRef.AsSpan(slash + 1) : sourceRef.AsSpan();
        var dot = name.IndexOf('.');
        var stem = dot >= 0 ? name[..dot] : name;
        if (!IsSha256Hex(stem))
        {
            return Fingerprint(sourceRef);
        }

        // A SHA-256 in hex is ASCII: its UTF-8 is one byte per character, lower-cased like KeyOf does.
        Span<byte> utf8 = stackalloc byte[64];
        for (var i = 0; i < 64; i++)
        {
            utf8[i] = (byte)char.ToLowerInvariant(stem[i]);
        }

        return XxHash128.HashToUInt128(utf8);
    }

    /// <summary>
    /// A COCO id for the image, stable across rebuilds as the dataset grows: the top 52 bits of the
    /// fingerprint, plus one (JSON numbers stay exact up to 2^53; a collision needs ~10^7 images to become likely).
    /// </summary>
    public static long CocoImageId(UInt128 fingerprint) => (long)(fingerprint >> 76) + 1;

    /// <summary>A COCO annotation id derived from the image and the box index, stable across rebuilds.</summary>
    public static long CocoAnnotationId(string imageKey, int boxIndex)
    {
        var text = imageKey + "#" + boxIndex.ToString(CultureInfo.InvariantCulture);
        var max = Encoding.UTF8.GetMaxByteCount(text.Length);
        Span<byte> utf8 = max <= 512 ? stackalloc byte[max] : new byte[max];
        return (long)(XxHash3.HashToUInt64(utf8[..Encoding.UTF8.GetBytes(text, utf8)]) >> 12) + 1;
    }

    private static bool IsSha256Hex(ReadOnlySpan<char> s)
    {
        if (s.Length != 64)
        {
            return false;
        }

        foreach (var c in s)
        {
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
