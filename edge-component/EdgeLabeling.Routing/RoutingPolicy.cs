using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using EdgeLabeling.Contracts;

namespace EdgeLabeling.Routing;

/// <summary>The routing part of a decision: outcome, reason and the boxes kept.</summary>
/// <param name="Outcome">AutoLabel, HumanReview or Audit (Duplicate and Quarantine are decided before routing).</param>
/// <param name="Reason">Short machine-readable reason (see <see cref="RoutingReasons"/>).</param>
/// <param name="Boxes">Detections at or above the background level, highest score first, at most the cap.</param>
public readonly record struct RouteResult(RoutingOutcome Outcome, string Reason, IReadOnlyList<PixelBox> Boxes);

/// <summary>The reason strings the policy produces.</summary>
public static class RoutingReasons
{
    public const string AllConfident = "all-confident";
    public const string NoDetections = "no-detections";
    public const string AuditSample = "audit-sample";
    public const string TooManyDetections = "too-many-detections";
    public const string UncertainPrefix = "uncertain:";
    public const string DuplicatePrefix = "duplicate-of:";

    /// <summary>Characters of the original's SHA-256 shown in a duplicate reason.</summary>
    public const int DuplicateShaPrefixLength = 12;

    /// <summary>
    /// "uncertain:{class}@{score}" with the score truncated (not rounded) to two decimals, so a 0.499 is
    /// shown as 0.49 and never looks like it reached a 0.5 threshold.
    /// </summary>
    public static string Uncertain(string className, double score) =>
        UncertainPrefix + className + "@" + (Math.Floor(score * 100) / 100).ToString("0.00", CultureInfo.InvariantCulture);

    /// <summary>"duplicate-of:{first 12 hex of the original's SHA-256}".</summary>
    public static string DuplicateOf(string sha256) =>
        DuplicatePrefix + sha256[..Math.Min(DuplicateShaPrefixLength, sha256.Length)];
}

/// <summary>
/// The confidence routing rules, one decision per image:
/// <list type="number">
/// <item>detections below <c>uncertainLow</c> are background and dropped;</item>
/// <item>nothing left → the no-detections rule ("no-detections");</item>
/// <item>more left than <c>maxDetections</c> → review ("too-many-detections"), top-scoring boxes kept;</item>
/// <item>any detection below its class's auto-accept threshold → review ("uncertain:nut@0.41", the least confident one);</item>
/// <item>otherwise auto-label ("all-confident");</item>
/// <item>an auto-labelable image is turned into an audit sample at <c>auditRate</c>, drawn from (SHA-256, seed).</item>
/// </list>
/// Near-duplicate frames are caught before inference through <see cref="FindDuplicate"/>.
/// </summary>
public sealed class RoutingPolicy
{
    private readonly double[] _classThresholds;
    private readonly byte[] _seedBytes = new byte[8];
    private readonly ulong _auditCutoff;
    private readonly NearDuplicateCache? _duplicates;

    /// <summary>Validates <paramref name="options"/> against the model's class names.</summary>
    /// <exception cref="RoutingConfigException">An option is invalid or names a class the model does not have.</exception>
    public RoutingPolicy(RoutingOptions options, IReadOnlyList<string> classNames)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(classNames);
        Options = options.Validate();
        ClassNames = classNames;
        foreach (var name in options.Thresholds.ClassThresholds.Keys)
        {
            if (!classNames.Contains(name, StringComparer.Ordinal))
            {
                throw new RoutingConfigException($"classThresholds.{name}: '{name}' is not a class of the model ({string.Join(", ", classNames)})");
            }
        }

        _classThresholds = classNames.Select(options.Thresholds.ThresholdFor).ToArray();
        BinaryPrimitives.WriteInt64LittleEndian(_seedBytes, options.AuditSeed);
        // rate 1.0 must audit everything, including a draw of ulong.MaxValue.
        _auditCutoff = options.AuditRate >= 1 ? ulong.MaxValue : (ulong)(options.AuditRate * 18446744073709551616.0);
        _duplicates = options.DuplicateDetection
            ? new NearDuplicateCache(options.DuplicateMaxDistance, options.DuplicateWindow, options.DuplicateCacheSize)
            : null;
    }

    /// <summary>The validated options.</summary>
    public RoutingOptions Options { get; }

    /// <summary>Class names indexed by class id (from the model).</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Auto-accept threshold of a class id.</summary>
    public double ThresholdFor(int classId) => _classThresholds[CheckClass(classId)];

    /// <summary>Routes one image from its detections (any order; scores are probabilities).</summary>
    /// <param name="sha256">Lower-case hex SHA-256 of the image bytes (for the audit draw).</param>
    /// <param name="detections">The detector's boxes.</param>
    public RouteResult Route(string sha256, IReadOnlyList<PixelBox> detections)
    {
        ArgumentNullException.ThrowIfNull(sha256);
        ArgumentNullException.ThrowIfNull(detections);
        var kept = new List<PixelBox>(detections.Count);
        foreach (var d in detections)
        {
            CheckClass(d.ClassId);
            if (!double.IsFinite(d.Confidence))
            {
                throw new ArgumentException($"detection of class {d.ClassId} has a non-finite score", nameof(detections));
            }

            if (d.Confidence >= Options.Thresholds.UncertainLow)
            {
                kept.Add(d);
            }
        }

        // Stable sort: equal scores keep the detector's order, so decisions are reproducible.
        var sorted = kept.OrderByDescending(b => b.Confidence).ToList();
        if (sorted.Count == 0)
        {
            return Options.NoDetections == NoDetectionsRule.AutoLabel
                ? Auditable(sha256, RoutingReasons.NoDetections, sorted)
                : new RouteResult(RoutingOutcome.HumanReview, RoutingReasons.NoDetections, sorted);
        }

        if (sorted.Count > Options.MaxDetections)
        {
            return new RouteResult(RoutingOutcome.HumanReview, RoutingReasons.TooManyDetections, sorted.GetRange(0, Options.MaxDetections));
        }

        PixelBox? leastConfident = null;
        foreach (var b in sorted)
        {
            if (b.Confidence < _classThresholds[b.ClassId] && (leastConfident is null || b.Confidence < leastConfident.Value.Confidence))
            {
                leastConfident = b;
            }
        }

        if (leastConfident is { } u)
        {
            return new RouteResult(RoutingOutcome.HumanReview, RoutingReasons.Uncertain(ClassNames[u.ClassId], u.Confidence), sorted);
        }

        return Auditable(sha256, RoutingReasons.AllConfident, sorted);
    }

    /// <summary>
    /// Whether an auto-labelable image is drawn as an audit sample: the first 8 bytes of
    /// SHA-256(seed ‖ image-sha256) read as a uniform fraction, compared with the rate.
    /// Deterministic, so a rerun or another device audits the same images.
    /// </summary>
    public bool IsAuditSample(string sha256)
    {
        if (Options.AuditRate <= 0)
        {
            return false;
        }

        Span<byte> input = stackalloc byte[8 + Encoding.ASCII.GetMaxByteCount(sha256.Length)];
        _seedBytes.CopyTo(input);
        var n = Encoding.ASCII.GetBytes(sha256, input[8..]);
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(input[..(8 + n)], digest);
        var draw = BinaryPrimitives.ReadUInt64BigEndian(digest);
        return Options.AuditRate >= 1 || draw < _auditCutoff;
    }

    /// <summary>
    /// The SHA-256 of a recent kept frame of the same camera this frame nearly duplicates, or null (and
    /// the frame is remembered). Always null when duplicate detection is off.
    /// </summary>
    public string? FindDuplicate(string? camera, DateTimeOffset captureTime, ulong perceptualHash, string sha256) =>
        _duplicates?.MatchOrAdd(camera, captureTime, perceptualHash, sha256);

    /// <summary>Forgets a frame <see cref="FindDuplicate"/> remembered but the caller did not keep.</summary>
    public void ForgetFrame(string? camera, string sha256) => _duplicates?.Remove(camera, sha256);

    private RouteResult Auditable(string sha256, string reason, IReadOnlyList<PixelBox> boxes) =>
        IsAuditSample(sha256)
            ? new RouteResult(RoutingOutcome.Audit, RoutingReasons.AuditSample, boxes)
            : new RouteResult(RoutingOutcome.AutoLabel, reason, boxes);

    private int CheckClass(int classId)
    {
        if ((uint)classId >= (uint)_classThresholds.Length)
        {
            throw new ArgumentException($"class id {classId} is not a class of the model (it has {_classThresholds.Length})");
        }

        return classId;
    }
}
