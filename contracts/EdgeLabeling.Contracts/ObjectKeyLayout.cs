using System.Globalization;
using System.Buffers;

namespace EdgeLabeling.Contracts;

/// <summary>
/// The S3 key layout shared by the edge uploader and the cloud ingest:
/// <c>incoming/{thingName}/{yyyy}/{MM}/{dd}/{sha256}.{ext}</c> for an image and the same key with
/// <c>.json</c> appended for its sidecar review record. Keys are content-addressed, so a retried
/// upload writes the same object again instead of creating a second one.
/// </summary>
public static class ObjectKeyLayout
{
    public const string IncomingPrefix = "incoming/";
    public const string SidecarSuffix = ".json";

    private const int MaxThingNameLength = 128;
    private const int Sha256HexLength = 64;

    // IoT thing names: 1-128 of [a-zA-Z0-9:_-]. Keys are checked by hand, not by a regular expression: the merge
    // reads the capture day and device of every reviewed line from its key, and a match with its groups cost about
    // 1.4 KB and 1.5 µs per key there (a third of the merge's allocations).
    private static readonly SearchValues<char> ThingNameChars = SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_-");
    private static readonly SearchValues<char> LowerHexChars = SearchValues.Create("0123456789abcdef");

    /// <summary>
    /// The one list of image formats the product takes, as extensions without the dot: what Ground Truth shows, what
    /// the component reads from its inbox, what the keys carry. Every other check of a file name uses it.
    /// </summary>
    public static readonly IReadOnlySet<string> ImageExtensions = new HashSet<string>(StringComparer.Ordinal) { "jpg", "jpeg", "png" };

    /// <summary>The list for messages: ".jpg, .jpeg or .png".</summary>
    public const string ImageExtensionsText = ".jpg, .jpeg or .png";

    /// <summary>True when a file name, path or URI ends in one of <see cref="ImageExtensions"/> (any case).</summary>
    public static bool HasImageExtension(string nameOrPath)
    {
        ArgumentNullException.ThrowIfNull(nameOrPath);
        var dot = nameOrPath.LastIndexOf('.');
        return dot >= 0 && dot > nameOrPath.LastIndexOf('/') && ImageExtensions.Contains(nameOrPath[(dot + 1)..].ToLowerInvariant());
    }

    public static bool IsValidThingName(string thingName) => thingName is not null && IsValidThingName(thingName.AsSpan());

    /// <summary>IoT thing names: 1-128 of letters, digits, ':', '_' or '-'.</summary>
    public static bool IsValidThingName(ReadOnlySpan<char> thingName) =>
        thingName.Length is >= 1 and <= MaxThingNameLength && !thingName.ContainsAnyExcept(ThingNameChars);

    public static string ImageKey(string thingName, DateTimeOffset captureTime, string sha256Hex, string extension)
    {
        if (!IsValidThingName(thingName))
        {
            throw new ArgumentException($"thing name '{thingName}' must be 1-128 of letters, digits, ':', '_' or '-'", nameof(thingName));
        }

        if (sha256Hex is null || sha256Hex.Length != Sha256HexLength || sha256Hex.AsSpan().ContainsAnyExcept(LowerHexChars))
        {
            throw new ArgumentException("sha256 must be 64 lowercase hex characters", nameof(sha256Hex));
        }

        var ext = NormalizeExtension(extension);
        var utc = captureTime.UtcDateTime;
        return string.Create(CultureInfo.InvariantCulture, $"{IncomingPrefix}{thingName}/{utc:yyyy}/{utc:MM}/{utc:dd}/{sha256Hex}.{ext}");
    }

    public static string SidecarKey(string imageKey) => imageKey + SidecarSuffix;

    public static string NormalizeExtension(string extension)
    {
        var ext = extension.TrimStart('.').ToLowerInvariant();
        if (!ImageExtensions.Contains(ext))
        {
            throw new ArgumentException($"image extension '{extension}' is not one of jpg, jpeg, png", nameof(extension));
        }

        return ext;
    }

    /// <summary>Parses a decoded key. Returns false with a named reason for anything outside the layout.</summary>
    public static bool TryParse(string key, out IncomingKey parsed, out string reason)
    {
        parsed = default;
        if (!TryParseLayout(key, out var layout, out reason))
        {
            return false;
        }

        var imageKey = layout.IsSidecar ? key[..^SidecarSuffix.Length] : key;
        parsed = new IncomingKey(key, imageKey, key[layout.ThingName], layout.Date, key[layout.Sha256], key[layout.Extension], layout.IsSidecar);
        return true;
    }

    /// <summary>
    /// The same check as <see cref="TryParse"/> without allocating: where the parts are in <paramref name="key"/>
    /// (an <c>incoming/…</c> key, not a URI), for callers that read only some of them per line.
    /// </summary>
    public static bool TryParseLayout(ReadOnlySpan<char> key, out IncomingKeyLayout layout, out string reason)
    {
        layout = default;
        if (key.IsEmpty)
        {
            reason = "empty-key";
            return false;
        }

        if (key[0] == '/' || key.Contains("..", StringComparison.Ordinal) || key.Contains('\\') || key.Contains("//", StringComparison.Ordinal))
        {
            reason = "unsafe-key";
            return false;
        }

        if (!key.StartsWith(IncomingPrefix, StringComparison.Ordinal))
        {
            reason = "outside-incoming-prefix";
            return false;
        }

        reason = "not-in-key-layout";
        var thingStart = IncomingPrefix.Length;
        var thingLength = key[thingStart..].IndexOf('/');
        if (thingLength < 0 || !IsValidThingName(key.Slice(thingStart, thingLength)))
        {
            return false;
        }

        // {yyyy}/{MM}/{dd}/{sha256}.{ext}[.json]
        var at = thingStart + thingLength + 1;
        if (key.Length < at + 11 + Sha256HexLength + 4
            || !TryDigits(key.Slice(at, 4), out var y) || key[at + 4] != '/'
            || !TryDigits(key.Slice(at + 5, 2), out var mo) || key[at + 7] != '/'
            || !TryDigits(key.Slice(at + 8, 2), out var d) || key[at + 10] != '/')
        {
            return false;
        }

        var shaStart = at + 11;
        if (key.Slice(shaStart, Sha256HexLength).ContainsAnyExcept(LowerHexChars) || key[shaStart + Sha256HexLength] != '.')
        {
            return false;
        }

        var extStart = shaStart + Sha256HexLength + 1;
        var isSidecar = key.EndsWith(SidecarSuffix, StringComparison.Ordinal);
        var extLength = key.Length - extStart - (isSidecar ? SidecarSuffix.Length : 0);
        if (extLength < 0 || !IsImageExtension(key.Slice(extStart, extLength)))
        {
            return false;
        }

        if (y < 1 || mo is < 1 or > 12 || d < 1 || d > DateTime.DaysInMonth(y, mo))
        {
            reason = "invalid-date-in-key";
            return false;
        }

        layout = new IncomingKeyLayout(new Range(thingStart, thingStart + thingLength), new DateOnly(y, mo, d),
            new Range(shaStart, shaStart + Sha256HexLength), new Range(extStart, extStart + extLength), isSidecar);
        reason = "";
        return true;
    }

    private static bool IsImageExtension(ReadOnlySpan<char> ext) => ext is "jpg" or "jpeg" or "png";

    private static bool TryDigits(ReadOnlySpan<char> digits, out int value)
    {
        value = 0;
        foreach (var c in digits)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return true;
    }
}

/// <summary>Where the parts of an incoming key are, as found by <see cref="ObjectKeyLayout.TryParseLayout"/>.</summary>
public readonly record struct IncomingKeyLayout(Range ThingName, DateOnly Date, Range Sha256, Range Extension, bool IsSidecar);

/// <summary>A key that follows the incoming layout.</summary>
public readonly record struct IncomingKey(string Key, string ImageKey, string ThingName, DateOnly Date, string Sha256, string Extension, bool IsSidecar)
{
    public string SidecarKey => ImageKey + ObjectKeyLayout.SidecarSuffix;
}
