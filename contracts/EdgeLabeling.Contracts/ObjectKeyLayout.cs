using System.Globalization;
using System.Text.RegularExpressions;

namespace EdgeLabeling.Contracts;

/// <summary>
/// The S3 key layout shared by the edge uploader and the cloud ingest:
/// <c>incoming/{thingName}/{yyyy}/{MM}/{dd}/{sha256}.{ext}</c> for an image and the same key with
/// <c>.json</c> appended for its sidecar review record. Keys are content-addressed, so a retried
/// upload writes the same object again instead of creating a second one.
/// </summary>
public static partial class ObjectKeyLayout
{
    public const string IncomingPrefix = "incoming/";
    public const string SidecarSuffix = ".json";

    /// <summary>IoT thing names: 1–128 of [a-zA-Z0-9:_-].</summary>
    [GeneratedRegex("^[a-zA-Z0-9:_-]{1,128}$")]
    private static partial Regex ThingNameRegex();

    [GeneratedRegex("^incoming/(?<thing>[a-zA-Z0-9:_-]{1,128})/(?<y>[0-9]{4})/(?<m>[0-9]{2})/(?<d>[0-9]{2})/(?<sha>[0-9a-f]{64})\\.(?<ext>jpg|jpeg|png)(?<sidecar>\\.json)?$")]
    private static partial Regex IncomingKeyRegex();

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

    public static bool IsValidThingName(string thingName) => thingName is not null && ThingNameRegex().IsMatch(thingName);

    public static string ImageKey(string thingName, DateTimeOffset captureTime, string sha256Hex, string extension)
    {
        if (!IsValidThingName(thingName))
        {
            throw new ArgumentException($"thing name '{thingName}' must be 1-128 of letters, digits, ':', '_' or '-'", nameof(thingName));
        }

        if (sha256Hex.Length != 64 || !sha256Hex.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f'))
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
        if (string.IsNullOrEmpty(key))
        {
            reason = "empty-key";
            return false;
        }

        if (key.StartsWith('/') || key.Contains("..", StringComparison.Ordinal) || key.Contains('\\') || key.Contains("//", StringComparison.Ordinal))
        {
            reason = "unsafe-key";
            return false;
        }

        if (!key.StartsWith(IncomingPrefix, StringComparison.Ordinal))
        {
            reason = "outside-incoming-prefix";
            return false;
        }

        var m = IncomingKeyRegex().Match(key);
        if (!m.Success)
        {
            reason = "not-in-key-layout";
            return false;
        }

        var y = int.Parse(m.Groups["y"].Value, CultureInfo.InvariantCulture);
        var mo = int.Parse(m.Groups["m"].Value, CultureInfo.InvariantCulture);
        var d = int.Parse(m.Groups["d"].Value, CultureInfo.InvariantCulture);
        if (mo is < 1 or > 12 || d < 1 || d > DateTime.DaysInMonth(Math.Clamp(y, 1, 9999), mo))
        {
            reason = "invalid-date-in-key";
            return false;
        }

        var isSidecar = m.Groups["sidecar"].Success;
        var imageKey = isSidecar ? key[..^SidecarSuffix.Length] : key;
        parsed = new IncomingKey(key, imageKey, m.Groups["thing"].Value, new DateOnly(y, mo, d), m.Groups["sha"].Value, m.Groups["ext"].Value, isSidecar);
        reason = "";
        return true;
    }
}

/// <summary>A key that follows the incoming layout.</summary>
public readonly record struct IncomingKey(string Key, string ImageKey, string ThingName, DateOnly Date, string Sha256, string Extension, bool IsSidecar)
{
    public string SidecarKey => ImageKey + ObjectKeyLayout.SidecarSuffix;
}
