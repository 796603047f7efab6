using System.Text;

namespace EdgeLabeling.Labeling.Events;

/// <summary>
/// Decodes <c>s3.object.key</c> exactly like AWS encodes it (application/x-www-form-urlencoded):
/// <c>+</c> is a space, <c>%2B</c> a plus, <c>%XX</c> sequences are UTF-8 bytes, <c>%2F</c> a slash.
/// <see cref="Uri.UnescapeDataString(string)"/> is not used because it leaves <c>+</c> alone and
/// silently keeps malformed escapes, which would register a key that does not exist.
/// </summary>
public static class S3KeyDecoder
{
    /// <summary>Decodes a key; on failure returns false with a named reason (see <see cref="IngestReasons"/>).</summary>
    public static bool TryDecode(string? encoded, out string decoded, out string reason)
    {
        decoded = "";
        if (string.IsNullOrEmpty(encoded))
        {
            reason = IngestReasons.MissingKey;
            return false;
        }

        var bytes = new byte[Encoding.UTF8.GetMaxByteCount(encoded.Length)];
        var n = 0;
        for (var i = 0; i < encoded.Length; i++)
        {
            var c = encoded[i];
            if (c == '+')
            {
                bytes[n++] = (byte)' ';
            }
            else if (c == '%')
            {
                if (i + 2 >= encoded.Length || !IsHex(encoded[i + 1]) || !IsHex(encoded[i + 2]))
                {
                    reason = IngestReasons.MalformedKeyEscape;
                    return false;
                }

                bytes[n++] = (byte)((HexValue(encoded[i + 1]) << 4) | HexValue(encoded[i + 2]));
                i += 2;
            }
            else
            {
                n += Encoding.UTF8.GetBytes(encoded.AsSpan(i, char.IsHighSurrogate(c) && i + 1 < encoded.Length ? 2 : 1), bytes.AsSpan(n));
                if (char.IsHighSurrogate(c))
                {
                    i++;
                }
            }
        }

        try
        {
            decoded = StrictUtf8.GetString(bytes, 0, n);
        }
        catch (DecoderFallbackException)
        {
            reason = IngestReasons.InvalidUtf8Key;
            return false;
        }

        reason = "";
        return true;
    }

    /// <summary>
    /// The inverse, for building notifications, test events and fixtures the way S3 does: keys are written
    /// with application/x-www-form-urlencoded rules, so a space becomes <c>+</c>, a literal <c>+</c> becomes
    /// <c>%2B</c>, other bytes outside the unreserved set are UTF-8 percent-escapes, and <c>/</c> stays.
    /// </summary>
    public static string Encode(string key)
    {
        var sb = new StringBuilder(key.Length + 8);
        foreach (var b in Encoding.UTF8.GetBytes(key))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '*' or '/')
            {
                sb.Append(c);
            }
            else if (c == ' ')
            {
                sb.Append('+');
            }
            else
            {
                sb.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
