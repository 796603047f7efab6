using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
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
        return IsSha256Hex(stem) ? stem.ToString().ToLowerInvariant() : sourceRef;
    }

    /// <summary>
    /// A 128-bit fingerprint of the image key (truncated SHA-256 of the key text, so it is uniform even
    /// for keys that are not hashes). Sets of these stand in for sets of strings so that a join over a
    /// million images stays in tens of megabytes.
    /// </summary>
    public static UInt128 Fingerprint(string imageKey)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(imageKey), digest);
        return BinaryPrimitives.ReadUInt128BigEndian(digest);
    }

    /// <summary>
    /// A COCO id for the image, stable across rebuilds as the dataset grows: the top 52 bits of the
    /// fingerprint, plus one (JSON numbers stay exact up to 2^53; a collision needs ~10^7 images to become likely).
    /// </summary>
    public static long CocoImageId(UInt128 fingerprint) => (long)(fingerprint >> 76) + 1;

    /// <summary>A COCO annotation id derived from the image and the box index, stable across rebuilds.</summary>
    public static long CocoAnnotationId(string imageKey, int boxIndex)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(imageKey + "#" + boxIndex.ToString(CultureInfo.InvariantCulture)), digest);
        return (long)(BinaryPrimitives.ReadUInt64BigEndian(digest) >> 12) + 1;
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
